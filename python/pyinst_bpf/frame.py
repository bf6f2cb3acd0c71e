# SPDX-License-Identifier: MIT
"""Frame: pyinstrument's call tree node, for walking a Session in Python (section 6).

Session.root_frame() builds the raw, time-ordered tree pyinstrument builds before its
processors run (no library grouping, no threshold): the renderers of the binary do the rest.
"""

SELF, AWAIT, OUT_OF_CONTEXT, ROOT = "[self]", "[await]", "[out-of-context]", "[root]"
SYNTHETIC_LEAVES = (SELF, AWAIT, OUT_OF_CONTEXT)
SYNTHETIC = SYNTHETIC_LEAVES + (ROOT,)


class Frame:
    def __init__(self, identifier="", time=0.0, parent=None):
        self.identifier = identifier
        self._parts = identifier.split("\x00")
        self.time = time
        self.attributes = {}
        self.parent = parent
        self._children = []

    @property
    def children(self):
        return tuple(self._children)

    @property
    def function(self):
        return self._parts[0]

    @property
    def file_path(self):
        return self._parts[1] if len(self._parts) > 1 and self._parts[1] else None

    @property
    def line_no(self):
        try:
            return int(self._parts[2])
        except (IndexError, ValueError):
            return None

    @property
    def is_synthetic(self):
        return self.identifier in SYNTHETIC

    @property
    def is_synthetic_leaf(self):
        return self.identifier in SYNTHETIC_LEAVES

    @property
    def class_name(self):
        return next((a[1:] for a in self.attributes if a.startswith("c")), None)

    @property
    def total_self_time(self):
        """Own time: this frame's time less that of its real (not synthetic) children."""
        return self.time - sum(c.time for c in self._children if not c.is_synthetic)

    @property
    def proportion_of_parent(self):
        if self.parent is None:
            return 1.0
        return self.time / self.parent.time if self.parent.time else float("nan")

    def add_child(self, child):
        child.parent = self
        self._children.append(child)
        return child

    def remove_from_parent(self):
        if self.parent is not None:
            self.parent._children.remove(self)
            self.parent = None

    def __repr__(self):
        return "Frame(%r, time=%.6f, children=%d)" % (self.function, self.time,
                                                      len(self._children))


def _ident(info):
    return info.split("\x01", 1)[0]


def build_frame_tree(frame_records):
    """The tree of records, time-ordered as pyinstrument builds it: a record reuses the
    previous record's nodes while their identifiers agree, so A>B, A>C, A>B gives A{B, C, B}."""
    root = Frame(ROOT)
    path = []
    for stack, weight in frame_records:
        root.time += weight
        parent = root
        for depth, info in enumerate(stack):
            parts = info.split("\x01")
            ident = parts[0]
            if depth < len(path) and path[depth].identifier == ident:
                node = path[depth]
            else:
                del path[depth:]
                node = parent.add_child(Frame(ident))
                path.append(node)
            node.time += weight
            for attribute in parts[1:]:
                node.attributes[attribute] = node.attributes.get(attribute, 0.0) + weight
            parent = node
        if stack and _ident(stack[-1]) not in SYNTHETIC_LEAVES:
            parent.add_child(Frame(SELF, weight))
    if len(root.children) == 1:
        only = root.children[0]
        only.remove_from_parent()
        return only
    return root


def trim_stem(root, start_call_stack):
    """Drops the frames above the one that started profiling, as Session._trim_stem."""
    idents = [_ident(i) for i in start_call_stack]
    if not idents or root.identifier != idents[0]:
        return root
    node, i = root, 1
    while node.total_self_time == 0 and len(node.children) == 1 and i < len(idents):
        if node.children[0].identifier != idents[i]:
            break
        node = node.children[0]
        i += 1
    node.remove_from_parent()
    return node
