"""Deterministic generated chat text for the benchmark.

Messages are built from a vocabulary of real English words (plus the technical words people
use with assistants) drawn with a Zipf-like law, so common words are very common and a
two-word search has a realistic hit rate: a handful to a few thousand hits in a million
messages. Assistant replies are longer than user messages and sometimes carry a fenced code
block or a JSON snippet. Everything is a pure function of a seed string, so every store in a
run, and every rerun, gets byte-identical text.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import TypedDict

DATAGEN_VERSION = 1
"""Bump when the generated text changes, so cached datasets are rebuilt."""


class ChatMessage(TypedDict):
    """A generated message: the role and the text."""

    role: str
    content: str


# Roughly in order of frequency: function words first, then everyday and technical words.
_WORDS_TEXT = """
the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by not but what some we can out other were all there when up use your how said
an each she which do their time if will way about many then them would write like so these
her long make thing see him two has look more day could go come did number sound no most
people my over know water than call first who may down side been now find any new work part
take get place made live where after back little only round man year came show every good me
give our under name very through just form sentence great think say help low line differ turn
cause much mean before move right boy old too same tell does set three want air well also play
small end put home read hand port large spell add even land here must big high such follow act
why ask men change went light kind off need house picture try us again animal point mother
world near build self earth father head stand own page should country found answer school grow
study still learn plant cover food sun four between state keep eye never last let thought city
tree cross farm hard start might story saw far sea draw left late run while press close night
real life few north open seem together next white children begin got walk example ease paper
group always music those both mark often letter until mile river car feet care second book
carry took science eat room friend began idea fish mountain stop once base hear horse cut sure
watch color face wood main enough plain girl usual young ready above ever red list though feel
talk bird soon body dog family direct pose leave song measure door product black short numeral
class wind question happen complete ship area half rock order fire south problem piece told
knew pass since top whole king space heard best hour better true during hundred five remember
step early hold west ground interest reach fast verb sing listen six table travel less morning
ten simple several vowel toward war lay against pattern slow center love person money serve
appear road map rain rule govern pull cold notice voice unit power town fine certain fly fall
lead cry dark machine note wait plan figure star box noun field rest correct able pound done
beauty drive stood contain front teach week final gave green quick develop ocean warm free
minute strong special mind behind clear tail produce fact street inch multiply nothing course
stay wheel full force blue object decide surface deep moon island foot system busy test record
boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate
miss brought heat snow tire bring yes distant fill east paint language among grand ball yet
wave drop heart present heavy dance engine position arm wide sail material size vary settle
speak weight general ice matter circle pair include divide syllable felt perhaps pick sudden
count square reason length represent art subject region energy hunt probable bed brother egg
ride cell believe fraction forest sit race window store summer train sleep prove lone leg
exercise wall catch mount wish sky board joy winter sat written wild instrument kept glass
grass cow job edge sign visit past soft fun bright gas weather month million bear finish happy
hope flower clothe strange gone jump baby eight village meet root buy raise solve metal whether
push seven paragraph third shall held hair describe cook floor either result burn hill safe cat
century consider type law bit coast copy phrase silent tall sand soil roll temperature finger
industry value fight lie beat excite natural view sense ear else quite broke case middle kill
son lake moment scale loud spring observe child straight consonant nation dictionary milk speed
method organ pay age section dress cloud surprise quiet stone tiny climb cool design poor lot
experiment bottom key iron single stick flat twenty skin smile crease hole trade melody trip
office receive row mouth exact symbol die least trouble shout except wrote seed tone join
suggest clean break lady yard rise bad blow oil blood touch grew cent mix team wire cost lost
brown wear garden equal sent choose fell fit flow fair bank collect save control decimal gentle
woman captain practice separate difficult doctor please protect noon whose locate ring
character insect caught period indicate radio spoke atom human history effect electric expect
crop modern element hit student corner party supply bone rail imagine provide agree thus
capital chair danger fruit rich thick soldier process operate guess necessary sharp wing create
neighbor wash bat rather crowd corn compare poem string bell depend meat rub tube famous dollar
stream fear sight thin triangle planet hurry chief colony clock mine tie enter major fresh
search send yellow gun allow print dead spot desert suit current lift rose continue block chart
hat sell success company subtract event particular deal swim term opposite wife shoe shoulder
spread arrange camp invent cotton born determine quart nine truck noise level chance gather
shop stretch throw shine property column molecule select wrong gray repeat require broad
prepare salt nose plural anger claim continent oxygen sugar death pretty skill women season
solution magnet silver thank branch match suffix especially fig afraid huge sister steel
discuss forward similar guide experience score apple bought led pitch coat mass card band rope
slip win dream evening condition feed tool total basic smell valley nor double seat arrive
master track parent shore division sheet substance favor connect post spend chord fat glad
original share station dad bread charge proper bar offer segment slave duck instant market
degree populate chick dear enemy reply drink occur support speech nature range steam motion
path liquid log meant quotient teeth shell neck function error database server request
response file folder install version update config token session message context model agent
python script import module package library install deploy build cache queue thread process
memory latency timeout retry network socket proxy browser client endpoint header payload json
schema table index query migration backup restore export import user account password email
calendar meeting schedule deadline invoice budget report summary draft review feedback
customer ticket issue bug crash log stack trace exception debug release branch commit merge
conflict test coverage benchmark profile container docker cluster node worker scheduler cron
webhook channel telegram discord slack notification reminder translate recipe travel flight
hotel weather forecast workout diet sleep budget mortgage insurance contract lawyer invoice
"""

# Dedupe while keeping the first (most frequent) position.
WORDS: tuple[str, ...] = tuple(dict.fromkeys(_WORDS_TEXT.split()))

_ZIPF_S = 1.05
_CUM_WEIGHTS: list[float] = list(
    itertools.accumulate(1.0 / (rank**_ZIPF_S) for rank in range(1, len(WORDS) + 1))
)

_CODE_SNIPPETS = (
    "```python\nimport sqlite3\n\ndef latest(conn, session_id, n=50):\n"
    '    rows = conn.execute("SELECT role, content FROM messages WHERE session_id = ? '
    'ORDER BY seq DESC LIMIT ?", (session_id, n)).fetchall()\n    return rows[::-1]\n```',
    "```bash\ncurl -s http://127.0.0.1:8765/api/health | jq .\n```",
    "```python\nasync def retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n"
    "            return await fn()\n        except TimeoutError:\n            await asyncio.sleep(2 ** i)\n"
    "    raise RuntimeError('gave up')\n```",
    "```js\nconst res = await fetch('/api/sessions?limit=50');\nconst { sessions } = await res.json();\n"
    "console.log(sessions.map(s => s.title));\n```",
    "```sql\nCREATE INDEX messages_session_seq ON messages (session_id, seq);\n```",
    "```python\nfor path in sorted(Path('logs').glob('*.log')):\n"
    "    print(path.name, path.stat().st_size)\n```",
)

_JSON_SNIPPETS = (
    '{"status": "ok", "items": [{"id": 17, "name": "backup"}, {"id": 18, "name": "export"}]}',
    '{"error": {"code": "not_found", "message": "session not found"}}',
    '{"temperature": 21.5, "unit": "C", "city": "Lisbon", "forecast": ["sun", "cloud", "rain"]}',
    '{"model": "gpt-4o-mini", "usage": {"input_tokens": 812, "output_tokens": 164}}',
)


class ChatGenerator:
    """Generates messages from one seed; the same seed always gives the same text."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)

    def _sentence(self, low: int, high: int) -> str:
        rng = self._rng
        words = rng.choices(WORDS, cum_weights=_CUM_WEIGHTS, k=rng.randint(low, high))
        end = "?" if rng.random() < 0.15 else "."
        first = words[0]
        words[0] = first[:1].upper() + first[1:]
        return " ".join(words) + end

    def user_message(self) -> str:
        """A short message: one to three sentences."""
        return " ".join(self._sentence(4, 16) for _ in range(self._rng.randint(1, 3)))

    def assistant_message(self) -> str:
        """A longer reply: two to nine sentences, sometimes with code or JSON."""
        rng = self._rng
        parts = [self._sentence(6, 22) for _ in range(rng.randint(2, 9))]
        roll = rng.random()
        if roll < 0.12:
            parts.insert(rng.randint(1, len(parts)), "\n\n" + rng.choice(_CODE_SNIPPETS) + "\n\n")
        elif roll < 0.17:
            parts.insert(rng.randint(1, len(parts)), "\n\n" + rng.choice(_JSON_SNIPPETS) + "\n\n")
        return " ".join(parts)

    def messages(self, n: int) -> Iterator[ChatMessage]:
        """``n`` messages alternating user / assistant, starting with the user."""
        for i in range(n):
            if i % 2 == 0:
                yield {"role": "user", "content": self.user_message()}
            else:
                yield {"role": "assistant", "content": self.assistant_message()}


def session_messages(dataset: str, index: int, n: int) -> Iterator[ChatMessage]:
    """The ``n`` messages of session ``index`` of ``dataset`` (deterministic)."""
    return ChatGenerator(f"{dataset}:{DATAGEN_VERSION}:{index}").messages(n)


def chunks(messages: Iterator[ChatMessage], size: int) -> Iterator[list[ChatMessage]]:
    """Split a message stream into lists of at most ``size``."""
    while True:
        chunk = list(itertools.islice(messages, size))
        if not chunk:
            return
        yield chunk


def search_queries(count: int, seed: str = "queries") -> list[str]:
    """Two-word queries of mid-frequency words (ranks 60-500, four letters or more)."""
    rng = random.Random(f"{seed}:{DATAGEN_VERSION}")
    band = [w for w in WORDS[60:500] if len(w) >= 4]
    queries: list[str] = []
    while len(queries) < count:
        a, b = rng.sample(band, 2)
        queries.append(f"{a} {b}")
    return queries
