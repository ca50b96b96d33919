"""Template mining: group log contents into templates with ``<*>`` parameters.

The algorithm is Drain (He, Zhu, Zheng, Lyu: "Drain: An Online Log Parsing Approach with Fixed Depth Tree",
ICWS'17): obvious variables are masked by regexes, contents are routed by token count and their first tokens
through a fixed-depth prefix tree, and joined to the most similar cluster of the leaf when the share of equal
tokens reaches the similarity threshold ``st``; otherwise they start a new cluster. Where a member differs from
its cluster's template the template gets ``<*>``.

lakeshrink's own code follows the paper; what it changes is *where the work is done*: masking runs vectorised
in polars over the distinct contents of a chunk, and the Python loop of the tree runs once per distinct masked
content, not once per line (a 64 MB chunk of server logs has a few thousand of them). The miner keeps its tree
and clusters between calls, so templates learnt on one chunk are reused and extended on the next; a cluster's
id never changes even when its template is generalised.
"""

from __future__ import annotations

import functools
import pickle
import re
from dataclasses import dataclass, field

from lakeshrink.codecs.logs.lazy import polars as pl

WILDCARD = "<*>"

#: UUIDs, masked before the Loghub masks of a known format too (they only ever are variables).
UUID_MASK = r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
#: Masks used when the log format is not one of the known Loghub systems: UUIDs, IPs (with port), hex
#: numbers, and numbers standing alone or after ``=``/``:``.
DEFAULT_MASKS: tuple[str, ...] = (
    UUID_MASK,
    r"(\d+\.){3}\d+(:\d+)?",
    r"\b0[xX][0-9a-fA-F]+\b",
    r"(^|[\s=:(\[,])-?\d+(\.\d+)?\b",
)

#: Columns this long are masked in two halves at once (one lazy query on polars' thread pool).
_PARALLEL_ROWS = 1 << 16
#: True: contents of ASCII characters only are masked by each mask's ASCII form (:func:`ascii_form`), others by
#: the mask as written; False: every content by the mask as written. The same masked text either way (the tests
#: compare the two on ASCII and non-ASCII contents).
ASCII_MASKS = True
_DIGIT = re.compile(r"\d")
_WHITESPACE = re.compile(r"(\s+)")
STATE_VERSION = 2
#: How many of a leaf's clusters (the newest) a content is compared with.
MAX_LEAF_SCAN = 256


_VARIABLE = re.compile(r"<\*>|\d+")
_STARS = re.compile(r"\*+")
_NON_HEX_LETTER = re.compile(r"[G-Zg-z]")


@functools.lru_cache(maxsize=256)
def ascii_form(mask: str) -> str | None:
    """``mask`` with Unicode mode off, ``(?-u:mask)``, or None where it has no such form.

    polars runs masks with Rust's regex engine, which is faster on them with Unicode off: the default masks
    (three of them with ``\\b``) took 0.17 s of CPU on the 86,234 distinct contents of a 16 MiB chunk of the
    PostgreSQL text log and 0.12 s in their ASCII forms (round 9; csvlog 0.079 -> 0.067 s, jsonlog 0.041 ->
    0.032 s, the Loghub Linux log's masks 0.053 -> 0.041 s; best of 10, at a load of 8).

    On contents of ASCII characters only, the two forms match the same spans. Unicode mode changes what
    ``\\w``, ``\\d``, ``\\s`` and ``\\b`` match, and they agree with their ASCII forms on ASCII characters; it
    changes case folding, where an ASCII letter folds to no ASCII character but its other case; and it lets
    ``.`` and negated classes match characters rather than bytes, which do not compile in the ASCII form (a
    string regex may not match part of a character): such masks, and masks with characters beyond ASCII, have
    no ASCII form and are used as written.
    """
    if not mask.isascii():
        return None
    form = f"(?-u:{mask})"
    try:
        pl.Series("c", ["a"], dtype=pl.String).str.replace_all(form, WILDCARD)
    except pl.exceptions.ComputeError:
        return None
    return form


def signature(tokens: list[str]) -> str:
    """A template's constant shape: see :meth:`TemplateMiner.groups`. Empty templates keep their own text."""
    kept = []
    for token in tokens:
        shape = _STARS.sub("*", _VARIABLE.sub("*", token))
        if "*" in shape and not _NON_HEX_LETTER.search(shape):
            continue  # variable punctuation, or what is left of a masked hex id ("b*-fe*a-*b")
        kept.append(shape)
    return " ".join(kept) if kept else "\x00" + " ".join(tokens)


@dataclass(frozen=True)
class MinerConfig:
    """Drain settings. ``depth`` counts like Loghub's (root and leaf included), so ``depth - 2`` token layers.

    Raises:
        ValueError: a threshold outside (0, 1], a depth below 3 or a mask that does not compile.
    """

    masks: tuple[str, ...] = DEFAULT_MASKS
    similarity: float = 0.5
    depth: int = 4
    max_children: int = 100

    def __post_init__(self) -> None:
        if not 0.0 < self.similarity <= 1.0:
            raise ValueError(f"similarity must be in (0, 1], got {self.similarity}")
        if self.depth < 3:
            raise ValueError(f"depth must be at least 3, got {self.depth}")
        for mask in self.masks:
            re.compile(mask)


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[int] = field(default_factory=list)


class TemplateMiner:
    """A Drain tree and its clusters, fed chunk after chunk.

    Example:
        >>> miner = TemplateMiner(MinerConfig())
        >>> ids = miner.add(pl.Series(["open file a", "open file b", "close"]))
        >>> [miner.template(i) for i in ids.unique(maintain_order=True)]
        ['open file <*>', 'close']
    """

    def __init__(self, config: MinerConfig | None = None):
        self.config = config or MinerConfig()
        self._root: dict[int, _Node] = {}
        self._templates: list[list[str]] = []
        # the whitespace before each token of the cluster's first member ("" before a first token at the start):
        # templates keep it, so contents with tabs or runs of spaces ("LOG:  duration") still fit exactly
        self._spaces: list[list[str]] = []
        self._known: dict[str, int] = {}  # masked content -> cluster id, for contents seen before
        self._shapes: dict[str, int] = {}  # template given by the caller (structured lines) -> cluster id

    # ----------------------------------------------------------------------------------------------- public
    def __len__(self) -> int:
        return len(self._templates)

    def template(self, cluster_id: int) -> str:
        return "".join(s + t for s, t in zip(self._spaces[cluster_id], self._templates[cluster_id]))

    def templates(self) -> list[str]:
        return [self.template(cid) for cid in range(len(self._templates))]

    def groups(self) -> list[int]:
        """For every cluster, the id of its *group*: clusters whose templates have the same signature.

        Drain only joins contents with the same number of tokens, so ``<*> bytes sent`` and
        ``<*> bytes (<*> KB) sent`` stay apart. The signature drops tokens that are wholly variable or
        variable punctuation (``(<*>``, ``<*>)``) and writes digit runs as ``*``; clusters with equal
        signatures form one group (the group id is the smallest cluster id). Grouping is what a user sees as
        "the template"; encoding still uses each cluster's own template, which extracts parameters exactly.
        """
        first: dict[str, int] = {}
        return [first.setdefault(signature(t), cid) for cid, t in enumerate(self._templates)]

    def mask(self, contents: pl.Series) -> pl.Series:
        """Replace each mask's matches by ``<*>`` (vectorised; long columns in two halves at once). Contents of
        ASCII characters only take each mask's ASCII form (:func:`ascii_form`), the others the masks as written."""
        masks = self.config.masks
        forms = tuple(ascii_form(m) or m for m in masks) if ASCII_MASKS else masks
        if forms == masks:
            return self._masked([contents], [masks]).alias(contents.name)
        ascii = (contents.str.len_bytes() == contents.str.len_chars()).fill_null(False)
        n_ascii = int(ascii.sum())
        if n_ascii in (0, len(contents)):
            return self._masked([contents], [forms if n_ascii else masks]).alias(contents.name)
        rows = pl.int_range(len(contents), dtype=pl.UInt32, eager=True)
        order = pl.concat([rows.filter(ascii), rows.filter(~ascii)])
        out = self._masked([contents.filter(ascii), contents.filter(~ascii)], [forms, masks])
        return out.gather(order.arg_sort()).alias(contents.name)

    @staticmethod
    def _masked(groups: list[pl.Series], masks: list[tuple[str, ...]]) -> pl.Series:
        """Each group of contents masked by its masks, in one lazy query, the groups one after the other."""
        parts = []
        for contents, group_masks in zip(groups, masks):
            out = pl.col("c")
            for mask in group_masks:
                if mask.startswith(("(^|", "(?-u:(^|")):  # keep the delimiter the mask had to see
                    out = out.str.replace_all(mask, "${1}" + WILDCARD)
                else:
                    out = out.str.replace_all(mask, WILDCARD, literal=False)
            half = max(1, (len(contents) + 1) // 2) if len(contents) >= _PARALLEL_ROWS else max(1, len(contents))
            parts += [contents.slice(start, half).to_frame("c").lazy().select(out)
                      for start in range(0, max(1, len(contents)), half)]
        return pl.concat(parts, parallel=True).collect()["c"]

    def add(self, contents: pl.Series) -> pl.Series:
        """Cluster ``contents`` (one per line) and return each line's cluster id (UInt32)."""
        frame = pl.DataFrame({"c": contents.cast(pl.String).fill_null("")})
        distinct = frame.unique("c", maintain_order=True)
        distinct = distinct.with_columns(self.mask(distinct["c"]).alias("m"))
        masked = distinct["m"].unique(maintain_order=True).to_list()
        ids = [self._add_one(m) for m in masked]
        lookup = pl.DataFrame({"m": masked, "id": pl.Series(ids, dtype=pl.UInt32)})
        distinct = distinct.join(lookup, on="m", how="left")
        return frame.join(distinct.select("c", "id"), on="c", how="left", maintain_order="left")["id"]

    def add_shaped(self, contents: pl.Series, shapes: pl.Series) -> pl.Series:
        """Like :meth:`add`, but lines with a shape (not null) take it as their template as it is (structured
        lines, see :mod:`.structured`); the others are mined. A shape's cluster id is kept across calls."""
        has = shapes.is_not_null()
        frame = pl.DataFrame({"s": shapes})
        distinct = frame.filter(has).unique("s", maintain_order=True)["s"].to_list()
        ids = [self._shape_id(s) for s in distinct]
        lookup = pl.DataFrame({"s": distinct, "id": pl.Series(ids, dtype=pl.UInt32)})
        out = frame.join(lookup, on="s", how="left", maintain_order="left")["id"]
        if not has.all():
            rest = self.add(contents.filter(~has))
            out = out.scatter((~has).arg_true(), rest)
        return out

    def _shape_id(self, shape: str) -> int:
        cid = self._shapes.get(shape)
        if cid is None:
            cid = self._shapes[shape] = len(self._templates)
            self._templates.append([shape])
            self._spaces.append([""])
        return cid

    # ------------------------------------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        """The miner's state (versioned; read back with :meth:`from_bytes`)."""
        return pickle.dumps((STATE_VERSION, self.config, self._root, self._templates, self._known, self._spaces,
                             self._shapes))

    @classmethod
    def from_bytes(cls, data: bytes) -> TemplateMiner:
        version, config, root, templates, known, *rest = pickle.loads(data)
        if version not in (1, STATE_VERSION):
            raise ValueError(f"miner state version {version} is not supported (expected {STATE_VERSION})")
        miner = cls(config)
        miner._root, miner._templates, miner._known = root, templates, known
        # version 1 joined tokens by one space
        miner._spaces = rest[0] if rest else [[""] + [" "] * (len(t) - 1) if t else [] for t in templates]
        miner._shapes = rest[1] if len(rest) > 1 else {}
        return miner

    # -------------------------------------------------------------------------------------------- the tree
    def _add_one(self, masked: str) -> int:
        known = self._known.get(masked)
        if known is not None:
            return known
        pieces = _WHITESPACE.split(masked)
        tokens = pieces[2::2] if pieces and pieces[0] == "" else pieces[0::2]
        if tokens and tokens[-1] == "":
            tokens.pop()
        cid = self._search(tokens)
        if cid is None:
            cid = len(self._templates)
            self._templates.append(tokens)
            lead = pieces[1] if pieces and pieces[0] == "" and len(pieces) > 1 else ""
            spaces = pieces[3::2] if pieces and pieces[0] == "" else pieces[1::2]
            self._spaces.append(([lead] + spaces)[: len(tokens)])
            self._insert(tokens, cid)
        else:
            template = self._templates[cid]
            if template != tokens:
                self._templates[cid] = [t if t == s else WILDCARD for t, s in zip(template, tokens)]
        self._known[masked] = cid
        return cid

    def _layers(self, n_tokens: int) -> int:
        return min(self.config.depth - 2, n_tokens)

    def _search(self, tokens: list[str]) -> int | None:
        node = self._root.get(len(tokens))
        if node is None:
            return None
        for token in tokens[: self._layers(len(tokens))]:
            nxt = node.children.get(token) or node.children.get(WILDCARD)
            if nxt is None:
                return None
            node = nxt
        best, best_sim, best_params = None, -1.0, -1
        # a leaf can collect many clusters (one-token contents with digits all land in one): only the most
        # recent ones are compared, so a content costs bounded time and no input takes quadratic time
        for cid in node.clusters[-MAX_LEAF_SCAN:]:
            template = self._templates[cid]
            same = params = 0
            for t, s in zip(template, tokens):
                if t == WILDCARD:
                    params += 1
                elif t == s:
                    same += 1
            sim = same / len(tokens) if tokens else 1.0
            if sim > best_sim or (sim == best_sim and params > best_params):
                best, best_sim, best_params = cid, sim, params
        if best is not None and best_sim >= self.config.similarity:
            return best
        return None

    def _insert(self, tokens: list[str], cid: int) -> None:
        node = self._root.setdefault(len(tokens), _Node())
        limit = self.config.max_children
        for token in tokens[: self._layers(len(tokens))]:
            nxt = node.children.get(token)
            if nxt is None:
                if _DIGIT.search(token):
                    nxt = node.children.setdefault(WILDCARD, _Node())
                elif WILDCARD in node.children:
                    if len(node.children) < limit:
                        nxt = node.children.setdefault(token, _Node())
                    else:
                        nxt = node.children[WILDCARD]
                elif len(node.children) + 1 < limit:
                    nxt = node.children.setdefault(token, _Node())
                else:
                    nxt = node.children.setdefault(WILDCARD, _Node())
            node = nxt
        node.clusters.append(cid)
