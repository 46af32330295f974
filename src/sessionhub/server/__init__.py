"""The HTTP edge: REST API, WebSocket and dashboard (FastAPI on Starlette, served by uvicorn)."""
