"""The branch tree: the session's branches as a tree, each with its fork point, length and cost.

Enter on a branch posts ``BranchSwitchRequested`` to the app (which switches to it) and dismisses the screen
with its name; ``c`` compares the branch under the cursor with the one shown; Escape closes. The data is
:func:`summarise_branches`, a fold over the journal, so the tree also shows old and replayed sessions.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from life_tui.journal.view import JournalView
from life_tui.tui.branch_summary import BranchSummary, children_of, summarise_branches
from life_tui.tui.messages import BranchSwitchRequested


def branch_label(summary: BranchSummary, *, current: bool) -> str:
    origin = f"from {summary.parent} at {summary.fork_seq}" if summary.parent else "root"
    marks = "".join(
        (
            " ● shown" if current else "",
            f" merged into {summary.merged_into}" if summary.merged_into else "",
            " (deleted)" if summary.tombstoned else "",
        )
    )
    return (
        f"{summary.name}  {origin} · {summary.head} events ({summary.own_events} own) · "
        f"${summary.cost_usd:.4f} (${summary.own_cost_usd:.4f} own){marks}"
    )


class BranchTreeScreen(ModalScreen[str | None]):
    """Pick a branch of the session; dismisses with its name, or None."""

    DEFAULT_CSS = """
    BranchTreeScreen { align: center middle; }
    BranchTreeScreen > Vertical { width: 90%; height: 80%; border: round $accent; background: $surface; }
    BranchTreeScreen #branch-tree-title { height: 1; text-style: bold; padding: 0 1; }
    BranchTreeScreen #branch-tree-help { height: 1; color: $text-muted; padding: 0 1; }
    BranchTreeScreen Tree { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "compare", "Compare with shown"),
    ]

    def __init__(self, journal: JournalView, session_id: str, current: str) -> None:
        super().__init__()
        self.journal = journal
        self.session_id = session_id
        self.current = current
        self.summaries = summarise_branches(journal, session_id)

    def compose(self) -> ComposeResult:
        tree: Tree[str] = Tree(f"session {self.session_id}", id="branch-tree")
        tree.show_root = False
        tree.guide_depth = 3
        with Vertical():
            yield Static(f"Branches of {self.session_id}", id="branch-tree-title", markup=False)
            yield tree
            yield Static("Enter: switch · c: compare with the shown branch · Esc: close", id="branch-tree-help")

    def on_mount(self) -> None:
        trees = self.query(Tree)
        if not trees:  # closed before its widgets were mounted (dismissed at once, or the app shutting down)
            return
        tree: Tree[str] = trees.first()
        by_parent = children_of(self.summaries)
        known = {s.name for s in self.summaries}
        roots = [s for s in self.summaries if s.parent is None or s.parent not in known]
        shown: TreeNode[str] | None = None

        def add(node: TreeNode[str], summary: BranchSummary) -> None:
            nonlocal shown
            children = by_parent.get(summary.name, [])
            label = branch_label(summary, current=summary.name == self.current)
            child = node.add(label, data=summary.name, expand=True) if children else node.add_leaf(label, summary.name)
            if summary.name == self.current:
                shown = child
            for c in children:
                add(child, c)

        for root in roots:
            add(tree.root, root)
        tree.root.expand_all()
        tree.focus()
        if shown is not None:  # once the tree has laid out its lines (before that the move is lost)
            self.call_after_refresh(tree.move_cursor, shown)

    @property
    def highlighted(self) -> str | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None else None

    @on(Tree.NodeSelected)
    def _chosen(self, selected: Tree.NodeSelected[str]) -> None:
        selected.stop()
        if selected.node.data is not None:
            if selected.node.data != self.current:
                self.app.post_message(BranchSwitchRequested(selected.node.data))
            self.dismiss(selected.node.data)

    def action_compare(self) -> None:
        other = self.highlighted
        if other is None:
            return
        from life_tui.tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(self.journal, self.session_id, self.current, other))
