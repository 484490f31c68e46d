/** Keyboard movement inside a menu, shared by every menu of the UI. */

/**
 * Arrow keys move the focus to the next or previous item (wrapping round), Home and End to the
 * first and last. Returns true when the key was one of them (and was handled).
 */
export function moveFocus(event, items) {
  const at = items.indexOf(document.activeElement);
  const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
  if (!(event.key in moves) || !items.length) return false;
  event.preventDefault();
  items[(moves[event.key] + items.length) % items.length].focus();
  return true;
}
