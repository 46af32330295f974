// Extension points of the conversation view, for modules that add to it without editing it
// (branches.js: regenerate, edit and "‹ 1/2 ›"; later views). Each hook is a list of
// functions; the message renderer calls them for every message it draws.
//
//   addMessageActions((message, session) => [elements])   buttons in the message's actions bar
//   addBranchSwitcher((message, session, slot) => void)    fill the `.branch-slot` beside the message head
//   onHistoryChanged((sessionId) => void)                  the open session's history was reloaded
//   setRetry(async (message, session) => boolean)          what "Retry" does on a failed reply
//
// A hook must not throw; if it does, the error is logged and the message still renders.

const actions = [];
const switchers = [];
const historyListeners = [];
let retry = null;

export function addMessageActions(fn) {
  actions.push(fn);
}

export function addBranchSwitcher(fn) {
  switchers.push(fn);
}

export function onHistoryChanged(fn) {
  historyListeners.push(fn);
}

export function setRetry(fn) {
  retry = fn;
}

export function extraActions(message, session) {
  const out = [];
  for (const fn of actions) {
    try {
      out.push(...(fn(message, session) || []));
    } catch (err) {
      console.error("message action hook failed", err);
    }
  }
  return out;
}

export function fillBranchSlot(message, session, slot) {
  for (const fn of switchers) {
    try {
      fn(message, session, slot);
    } catch (err) {
      console.error("branch switcher hook failed", err);
    }
  }
}

export function historyChanged(sessionId) {
  for (const fn of historyListeners) {
    try {
      fn(sessionId);
    } catch (err) {
      console.error("history hook failed", err);
    }
  }
}

export const customRetry = () => retry;
