"""JavaScript `qs.parse` in linear time: qs 6.17's own steps, on containers that change in place.

qs parses in three steps: collect the decoded values of each key, build the chain of containers a
key names (`a[b][]` holds `{"a": {"b": [value]}}`), and merge each chain into the result. This
module takes the same steps by the same rules, so that it reads side by side with qs's
`lib/parse.js` and `lib/utils.js`. What differs is the containers: qs_codec, the Python port,
copies a whole list or dict to add one value (1,000 pairs cost 100+ ms); here every step changes
one container in place. A qs array may be sparse (`a[99]=x` is one element at index 99 of an
array of length 100), so `_Array` keeps its elements in a dict and its length apart; qs's
"overflow" and "conflict" marks, side channels in qs, are attributes here.

Options are NocoBase's: `strictNullHandling`, `arrayLimit` 100, `depth` 5, the rest qs's defaults
(`strictMerge`, no `allowDots`, no `allowPrototypes`). Values are decoded as qs_codec decodes them
(`urllib.parse.unquote`): a malformed escape stays as written, a bad UTF-8 byte becomes U+FFFD.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

LIST_LIMIT = 100
"""qs `arrayLimit`: indices from here up are object keys, and a longer list becomes an object."""

DEPTH = 5
"""qs `depth`: bracket groups past this many stay one literal key."""

# qs drops a pair whose key names a property of Object.prototype (its `allowPrototypes: false`).
_PROTOTYPE_NAMES = frozenset(
    {
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
        "__proto__",
        "constructor",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toLocaleString",
        "toString",
        "valueOf",
    }
)

_LARGEST_ARRAY_INDEX = 2**32 - 2
_DIGITS = frozenset("0123456789")
_EXACT_INTEGERS = 2**53


class _Array:
    """A JavaScript array as qs builds it: sparse, so its `length` is not its number of elements."""

    __slots__ = ("conflict", "items", "length")

    def __init__(self, items: dict[int, Any], length: int, *, conflict: bool = False) -> None:
        self.items = items
        self.length = length
        # qs's conflict mark: the pair `[target, source]` that strictMerge made of an object and a value.
        self.conflict = conflict


class _Object(dict[str, Any]):
    """A JavaScript object, with qs's marks: each the highest numeric key so far, or None if unmarked."""

    # Class-level defaults, so that making an object costs what making a dict does.
    overflow: float | None = None
    """A list that grew past the limit, kept as an object: the next value goes after this index."""
    conflict: float | None = None
    """A strictMerge pair turned object: the next conflicting value goes after this index."""


def _overflow_object(items: dict[str, Any], overflow: float) -> _Object:
    """An object marked as an overflowed list whose highest index is `overflow`."""
    marked = _Object(items)
    marked.overflow = overflow
    return marked


def parse(parts: list[str], encoding: str = "utf-8") -> dict[str, Any]:
    """`qs.parse` of a query's non-empty `&`-separated parts, as plain dicts, lists and strings.

    Percent-escapes are bytes in `encoding` (qs's `charset`: UTF-8 unless a form says otherwise).
    """
    # The result is merged into key by key; qs's marks on it never matter, since no value is ever
    # merged into the result itself, so it is a plain dict.
    result: dict[str, Any] = {}
    for key, leaf in _collect(parts, encoding):
        if "[" not in key:  # a name alone: the usual key, and the cheapest
            if key not in _PROTOTYPE_NAMES:
                result[key] = _merge(result[key], leaf) if key in result else leaf
            continue
        split = _split_key(key)
        if split is None:
            continue
        parent, groups = split
        if parent:
            _merge_chain(result, parent, groups, leaf)
            continue
        # No name before the first bracket: the container that group makes merges in key by key.
        for name, value in _keys_of(_build(groups, leaf)):
            result[name] = _merge(result[name], value) if name in result else value
    return {key: _plain(item) if _is_container(item := result[key]) else item for key in _js_order(result)}


def _collect(parts: list[str], encoding: str) -> list[tuple[str, Any]]:
    """qs `parseValues`: each key with its decoded value(s), in the order JavaScript lists keys."""
    values: dict[str, list[str | None]] = {}
    for raw in parts:
        part = _literal_brackets(raw) if "%" in raw else raw
        # `a[=]=x` has the key `a[=]`: an `=` inside brackets is part of the key.
        split = part.find("]=")
        split = part.find("=") if split == -1 else split + 1
        key, value = (part, None) if split == -1 else (part[:split], part[split + 1 :])
        if "%" in key or "+" in key:
            key = _decode(key, encoding)
        if value is not None and ("%" in value or "+" in value):
            value = _decode(value, encoding)
        if key:  # qs drops a pair with an empty key when it parses the keys
            repeats = values.get(key)
            if repeats is None:
                values[key] = [value]
            else:
                repeats.append(value)
    return [
        (key, _combined(repeats) if len(repeats := values[key]) > 1 else repeats[0])
        for key in _js_order(values)
    ]


def _literal_brackets(part: str) -> str:
    """`%5B` and `%5D` as the brackets they encode, as qs does before it splits anything."""
    return part.replace("%5B", "[").replace("%5b", "[").replace("%5D", "]").replace("%5d", "]")


def _decode(text: str, encoding: str) -> str:
    """A key or value with `+` as a space and percent-escapes decoded; malformed ones stay as written."""
    return unquote(text.replace("+", " "), encoding, "replace")


def _combined(values: list[str | None]) -> Any:
    """qs `combine` applied to the values of a repeated key, in order: a list, or an overflow object."""
    if len(values) <= LIST_LIMIT:
        return _Array(dict(enumerate(values)), len(values))
    return _overflow_object({str(index): value for index, value in enumerate(values)}, len(values) - 1)


def _split_key(key: str) -> tuple[str, list[str]] | None:
    """qs `splitKeyIntoSegments`: `a[b][]` gives the name `a` and the groups `"b"` and `""`.

    A group is what is inside its brackets; the groups past the depth stay one group
    (`a[b][c][d][e][f][g]` ends with the group `"[g]"`), as does an unclosed one. None drops the
    pair (a name of Object.prototype's).
    """
    first = key.find("[")
    if first == -1:
        return None if key in _PROTOTYPE_NAMES else (key, [])
    parent, tail = key[:first], key[first:]
    groups = tail[1:-1].split("][") if tail[-1] == "]" else []
    if not tail.count("[") == len(groups) == tail.count("]"):
        return _split_nested(key, first)
    # Adjacent groups with no brackets inside (`a[b][]`), the usual kind: split in one go.
    if len(groups) > DEPTH:
        groups[DEPTH:] = ["[" + "][".join(groups[DEPTH:]) + "]"]
        if not _PROTOTYPE_NAMES.isdisjoint(groups[:DEPTH]):
            return None
    elif not _PROTOTYPE_NAMES.isdisjoint(groups):
        return None
    return None if parent in _PROTOTYPE_NAMES else (parent, groups)


def _split_nested(key: str, first: int) -> tuple[str, list[str]] | None:
    """`_split_key` for any key: groups with brackets inside, unclosed, or with text between them."""
    parent = key[:first]
    groups: list[str] = []
    if parent in _PROTOTYPE_NAMES:
        return None
    opening = first
    while opening != -1 and len(groups) < DEPTH:
        closing = _closing_bracket(key, opening)
        if closing == -1:
            groups.append(key[opening:])  # an unclosed group is one literal group
            return parent, groups
        if key[opening + 1 : closing] in _PROTOTYPE_NAMES:
            return None
        groups.append(key[opening + 1 : closing])
        # Text between groups (`c` in `a[b]c[d]`) is skipped, as qs skips it.
        opening = key.find("[", closing + 1)
    if opening != -1:
        groups.append(key[opening:])  # the groups past the depth, as one group
    return parent, groups


def _closing_bracket(key: str, opening: int) -> int:
    """Where the group that opens at `opening` closes, brackets nested in it balanced; -1 if never."""
    # The group closes at the first `]` that leaves no `[` open; each `]` is found, and the `[`
    # before it counted, by one scan of the text since the last one, so the whole is linear.
    level, at = 1, opening + 1
    while True:
        closing = key.find("]", at)
        if closing == -1:
            return -1
        level += key.count("[", at, closing) - 1
        if level == 0:
            return closing
        at = closing + 1


def _merge_chain(result: dict[str, Any], parent: str, groups: list[str], leaf: Any) -> None:
    """qs `merge(result, parseObject(chain, leaf))` for the chain `parent[group]…`.

    Merging `{name: rest}` into an object only merges `rest` into the object's `name` (and updates
    its marks), and merging `[…, rest]` into an array whose item is a container only merges `rest`
    into that item; so this walks down what the result already has and builds only what is new.
    """
    holder: dict[Any, Any] = result
    name: Any = parent
    for depth, group in enumerate(groups):
        if name not in holder:
            holder[name] = _build(groups[depth:], leaf)
            return
        node = holder[name]
        index = _index_of(group) if group[:1] in _DIGITS else None
        if type(node) is _Object and group and group != "__proto__":
            if index is not None:
                _note_key(node, index, index if index >= LIST_LIMIT else None)
            holder, name = node, group
            continue
        if type(node) is _Array and index is not None and index < LIST_LIMIT:
            position = int(index)
            item = node.items.get(position)
            if _is_container(item) and (depth + 1 < len(groups) or _is_container(leaf)):
                holder, name = node.items, position
                continue
            _put(node, position, _build(groups[depth + 1 :], leaf))
            holder[name] = _overflowed(node) if len(node.items) > LIST_LIMIT else node
            return
        holder[name] = _merge(node, _build(groups[depth:], leaf))
        return
    holder[name] = _merge(holder[name], leaf) if name in holder else leaf


def _build(groups: list[str], leaf: Any) -> Any:
    """qs `parseObject`: the containers the groups name around `leaf`, built from the leaf outwards."""
    for group in reversed(groups):
        if not group:  # `[]`
            if not (type(leaf) is _Object and leaf.overflow is not None):
                leaf = _listed(leaf)
            continue
        index = _index_of(group) if group[:1] in _DIGITS else None
        if index is None:
            leaf = _Object({group: leaf}) if group != "__proto__" else _Object()
        elif index < LIST_LIMIT:
            leaf = _Array({int(index): leaf}, int(index) + 1)
        else:
            leaf = _overflow_object({group: leaf}, index)
    return leaf


def _listed(leaf: Any) -> Any:
    """qs `combine([], leaf)`: a list of the leaf, or of its elements if it is one."""
    listed = leaf if type(leaf) is _Array else _Array({0: leaf}, 1)
    return _overflowed(listed) if listed.length > LIST_LIMIT else listed


def _merge(target: Any, source: Any) -> Any:
    """qs `utils.merge` with `strictMerge`: `source` merged into `target`, which it may change."""
    if source is None or source == "":
        return target
    if type(source) is str:
        return _merge_value(target, source)
    if type(target) is _Object:
        return _merge_keys(target, source)
    if type(target) is not _Array:
        return _prepended(target, source)
    if type(source) is _Array:
        return _merge_arrays(target, source)
    merged = _to_object(target)
    if target.conflict:
        # The array may have grown past its conflict pair, so the next one goes after its end.
        merged.conflict = target.length - 1
    return _merge_keys(merged, source)


def _merge_value(target: Any, value: str) -> Any:
    """A (non-empty) string merged into `target`: appended to a list, or paired with it."""
    if type(target) is _Array:
        if len(target.items) >= LIST_LIMIT:
            overflowed = _to_object(target)
            overflowed[str(target.length)] = value
            overflowed.overflow = target.length
            return overflowed
        target.items[target.length] = value
        target.length += 1
        return target
    if type(target) is _Object:
        if target.overflow is not None:
            target.overflow += 1
            target[_number_key(target.overflow)] = value
        elif target.conflict is not None:
            target.conflict += 1
            target[_number_key(target.conflict)] = value
        else:
            return _Array({0: target, 1: value}, 2, conflict=True)
        return target
    return _Array({0: target, 1: value}, 2)


def _prepended(target: Any, source: Any) -> Any:
    """A container merged into a value (a string or null): the value first, then the container's items."""
    if type(source) is _Object and source.overflow is not None:
        shifted = _overflow_object({"0": target}, source.overflow + 1)
        for key, item in source.items():
            index = _index_of(key)
            # qs computes `parseInt(key) + 1`; an overflow object's keys are all indices.
            shifted[_number_key(index + 1) if index is not None else "NaN"] = item
        return shifted
    if type(source) is _Array:
        items = {index + 1: item for index, item in source.items.items()}
        combined = _Array({0: target, **items}, source.length + 1)
    else:
        combined = _Array({0: target, 1: source}, 2)
    return _overflowed(combined) if combined.length > LIST_LIMIT else combined


def _merge_arrays(target: _Array, source: _Array) -> Any:
    """An array merged into an array, index by index (qs's `source.forEach`)."""
    for index in sorted(source.items):
        _put(target, index, source.items[index])
    return _overflowed(target) if len(target.items) > LIST_LIMIT else target


def _put(target: _Array, index: int, item: Any) -> None:
    """One item merged into an array at `index`: set if free, merged if both are containers, else appended."""
    items = target.items
    if index not in items:
        items[index] = item
        target.length = max(target.length, index + 1)
    elif _is_container(items[index]) and _is_container(item):
        items[index] = _merge(items[index], item)
    else:
        items[target.length] = item
        target.length += 1


def _merge_keys(target: _Object, source: Any) -> _Object:
    """A container merged into an object key by key (qs's `reduce` over `Object.keys(source)`)."""
    overflow = source.overflow if type(source) is _Object else None
    for key, value in _keys_of(source):
        target[key] = _merge(target[key], value) if key in target else value
        _note_key(target, _index_of(key), overflow)
    return target


def _note_key(target: _Object, index: float | None, source_overflow: float | None) -> None:
    """qs's marks after it merged a key (an `index`, if it is one) from a source into `target`."""
    if source_overflow is not None and target.overflow is None:
        target.overflow = _highest_index(target, source_overflow)
    if index is not None:
        if target.overflow is not None and index > target.overflow:
            target.overflow = index
        if target.conflict is not None and index > target.conflict:
            target.conflict = index


def _keys_of(source: Any) -> Iterable[tuple[str, Any]]:
    """`Object.keys(source)` with the values: an array's indices as strings, an object's in JS order."""
    if type(source) is _Array:
        return [(str(index), source.items[index]) for index in sorted(source.items)]
    if len(source) == 1:
        return list(source.items())
    return [(key, source[key]) for key in _js_order(source)]


def _highest_index(target: _Object, floor: float) -> float:
    """qs `maxNumericIndex`: the highest index among the object's keys, at least `floor`."""
    indices = [index for index in map(_index_of, target) if index is not None]
    return max([floor, *indices])


def _is_container(value: Any) -> bool:
    """Whether `value` is a JavaScript object or array (what qs's `typeof … === 'object'` tests)."""
    return type(value) is _Object or type(value) is _Array


def _to_object(array: _Array) -> _Object:
    """qs `arrayToObject`: the array's elements under their indices as keys."""
    return _Object({str(index): array.items[index] for index in sorted(array.items)})


def _overflowed(array: _Array) -> _Object:
    """An array past the list limit, as qs keeps it: an object marked with its last index."""
    overflowed = _to_object(array)
    overflowed.overflow = array.length - 1
    return overflowed


def _index_of(text: str) -> float | None:
    """The number `n >= 0` whose JavaScript `String(n)` is `text` (qs's `parseInt` round trip), if any."""
    if not (text.isdigit() and text.isascii()) or (text[0] == "0" and text != "0") or len(text) > 21:
        return None
    number = float(int(text))
    if number < _EXACT_INTEGERS:
        return number
    return number if _number_key(number) == text else None


def _number_key(number: float) -> str:
    """JavaScript's `String(n)` for an integer `n >= 0`: the key qs writes for an index."""
    if number < _EXACT_INTEGERS:
        return str(int(number))
    if number < 1e21:
        # JavaScript prints the shortest digits that read back as the number, then zeros.
        return str(int(Decimal(repr(number))))
    return repr(number)  # `1e+21`, written alike by both languages


def _js_order(keys: Iterable[str]) -> list[str]:
    """Keys in the order JavaScript lists an object's: array indices ascending, then the rest as added."""
    ordered = list(keys)
    indices = [key for key in ordered if key.isdigit() and _is_array_index(key)]
    if not indices:
        return ordered
    indices.sort(key=int)
    if len(indices) == len(ordered):
        return indices
    numeric = set(indices)
    return indices + [key for key in ordered if key not in numeric]


def _is_array_index(key: str) -> bool:
    """Whether JavaScript lists `key` first among an object's keys (an integer up to 2**32 - 2)."""
    index = _index_of(key)
    return index is not None and index <= _LARGEST_ARRAY_INDEX


def _plain(value: Any) -> Any:
    """qs `compact` and a copy into plain JSON containers: arrays lose their holes and marks."""
    if type(value) is _Object:
        keys = _js_order(value) if len(value) > 1 else value
        return {key: _plain(item) if _is_container(item := value[key]) else item for key in keys}
    if type(value) is _Array:
        items = value.items
        return [_plain(item) if _is_container(item := items[index]) else item for index in sorted(items)]
    return value
