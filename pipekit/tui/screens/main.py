"""The main screen: every module in a tree grouped by source connection, with its
status icon, last run time and rows; kept up to date while modules run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static, Tree
from textual.widgets.tree import TreeNode

from pipekit.client import Module, RecentRun
from pipekit.errors import PipekitError
from pipekit.tui.format import STATUS_STYLE, module_icon, rows, when
from pipekit.tui.screens._base import AppScreen

NO_SOURCE = "(no source)"
#: seconds the search box waits for the next key before filtering the tree: typing
#: stays quick with thousands of modules, whose tree takes a while to rebuild
FILTER_DELAY_S = 0.12


@dataclass(frozen=True)
class ModuleRow:
    """What the tree shows of one module."""

    module: Module
    last: RecentRun | None


class ModuleTree(Tree[str]):
    """The tree; `j`/`k`/`g`/`G` move like the arrow keys, Home and End."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    def get_label_width(self, node: TreeNode[str]) -> int:
        # the tree measures every line for its width; the base renders each label to
        # do so, which with thousands of modules is most of the time the tree takes
        icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        label = node.label
        width = label.cell_len if isinstance(label, Text) else Text(label).cell_len
        return (len(icon) if node.allow_expand else 0) + width


class MainScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "inspect", "Info"),
        Binding("r", "run", "Run"),
        Binding("l", "history", "History"),
        Binding("L", "all_runs", "All runs"),
        Binding("n", "new", "New"),
        Binding("c", "connections", "Connections"),
        Binding("slash", "search", "Search"),
        Binding("f5", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, ModuleRow] = {}
        self.nodes: dict[str, TreeNode[str]] = {}
        self.filter = ""
        #: the modules are on screen, and (`loaded`) their latest runs too
        self.shown = False
        self.loaded = False
        self.latest: dict[str, RecentRun | None] = {}
        self.width = 10
        self._filter_timer: Timer | None = None
        #: another screen is on top of this one
        self.left = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="search modules (esc clears)", id="search")
        tree = ModuleTree("modules", id="modules")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield Static("loading modules...", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#modules", ModuleTree).focus()
        self.action_refresh()
        if self.pk.poll_s > 0:
            self.set_interval(self.pk.poll_s, self._poll)

    def on_screen_suspend(self) -> None:
        self.left = True

    def on_screen_resume(self) -> None:
        # Textual also resumes a screen that never left (the terminal regaining focus):
        # only a return from another screen refreshes, and gives the keys to the tree
        if not self.left:
            return
        self.left = False
        self.query_one("#modules", ModuleTree).focus()
        self.action_refresh()

    # -- loading -----------------------------------------------------------------------

    def action_refresh(self) -> None:
        # two calls, so the tree shows as soon as the modules are known; the latest runs
        # (one look per module on the server) fill in the labels when they come
        self.pk.call(self.api.modules, self.show_modules, failed=self.show_failure)

    def show_modules(self, modules: list[Module]) -> None:
        self.show_rows([ModuleRow(m, self.latest.get(m.name)) for m in modules])
        self.shown = True
        self.pk.call(self.api.latest_runs, self.show_latest, failed=self.show_failure)

    def show_latest(self, latest: dict[str, RecentRun | None]) -> None:
        self.latest = latest
        self.show_rows([ModuleRow(r.module, latest.get(n)) for n, r in self.rows.items()])
        self.loaded = True

    def _poll(self) -> None:
        # look again only while something runs: the tree shows when it ends
        if self.is_current and any(
            r.module.running or (r.last is not None and r.last.status in ("queued", "running"))
            for r in self.rows.values()
        ):
            self.action_refresh()

    def show_failure(self, exc: PipekitError) -> None:
        self.query_one("#status", Static).update(
            Text(f"{exc}\nPress F5 to try again.", style="bold red")
        )
        self.pk.show_error(exc)

    def show_rows(self, loaded: list[ModuleRow]) -> None:
        new = {r.module.name: r for r in loaded}
        same_shape = list(new) == list(self.rows) and all(
            new[n].module.source == self.rows[n].module.source for n in new
        )
        self.rows = new
        self.width = min(40, max((len(n) for n in new), default=10))
        if same_shape and self.nodes:
            for name, node in self.nodes.items():
                node.set_label(self.label(self.rows[name]))
        else:
            self.build_tree()
        running = sum(1 for r in self.rows.values() if r.module.running)
        failed = sum(1 for r in self.rows.values() if r.last and r.last.status == "error")
        self.query_one("#status", Static).update(
            f"{len(self.rows)} modules, {running} running, {failed} failed at their last run"
        )

    # -- the tree ----------------------------------------------------------------------

    def label(self, row: ModuleRow) -> Text:
        m, last = row.module, row.last
        icon = module_icon(
            enabled=m.enabled, running=m.running, last_status=last.status if last else None
        )
        text = Text()
        text.append(f"{icon} ", style=_icon_style(icon))
        text.append(f"{m.name:<{self.width}}  ", style="bold" if m.enabled else "dim")
        if last is None:
            if m.name in self.latest:
                text.append("never ran", style="dim")
            return text
        now, tz = self.pk.now(), self.pk.tz
        text.append(f"{last.status:<9}", style=STATUS_STYLE.get(last.status, ""))
        text.append(f" {when(last.started_at, now, tz):>16}")
        text.append(f"  {rows(last.row_count):>12} rows")
        return text

    def build_tree(self) -> None:
        tree = self.query_one("#modules", ModuleTree)
        current = self.selected_module()
        tree.clear()
        self.nodes = {}
        needle = self.filter.lower()
        groups: dict[str, list[ModuleRow]] = {}
        for row in sorted(self.rows.values(), key=lambda r: r.module.name):
            if needle and needle not in row.module.name.lower():
                continue
            groups.setdefault(row.module.source or NO_SOURCE, []).append(row)
        for source in sorted(groups):
            members = groups[source]
            branch = tree.root.add(
                Text.assemble((source, "bold cyan"), f"  ({len(members)})"), expand=True
            )
            for row in members:
                name = row.module.name
                self.nodes[name] = branch.add_leaf(self.label(row), data=name)
        if self.nodes:
            # the selected module again, else the first; set by line because the new
            # nodes know their lines only once the tree lays them out
            tree.cursor_line = self._line_of(groups, current)

    @staticmethod
    def _line_of(groups: dict[str, list[ModuleRow]], name: str | None) -> int:
        """The tree line of module `name` (the first module's if it is not shown)."""
        line = 0
        for source in sorted(groups):
            line += 1  # the group's own line
            for row in groups[source]:
                if row.module.name == name:
                    return line
                line += 1
        return 1

    def selected_module(self) -> str | None:
        node = self.query_one("#modules", ModuleTree).cursor_node
        return node.data if node is not None else None

    def _module_or_hint(self) -> str | None:
        name = self.selected_module()
        if name is None:
            self.notify("select a module first (j/k move, enter opens a group)", severity="warning")
        return name

    # -- keys --------------------------------------------------------------------------

    @on(Tree.NodeSelected, "#modules")
    def _open(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data is not None:
            self.action_inspect()

    def action_inspect(self) -> None:
        from pipekit.tui.screens.module import ModuleScreen

        if name := self._module_or_hint():
            self.app.push_screen(ModuleScreen(name))

    def action_run(self) -> None:
        from pipekit.tui.screens.run import start_run

        if name := self._module_or_hint():
            start_run(self.pk, name)

    def action_history(self) -> None:
        from pipekit.tui.screens.history import HistoryScreen

        if name := self._module_or_hint():
            self.app.push_screen(HistoryScreen(name))

    def action_all_runs(self) -> None:
        from pipekit.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(None))

    def action_new(self) -> None:
        from pipekit.tui.screens.wizard import WizardScreen

        self.app.push_screen(WizardScreen())

    def action_connections(self) -> None:
        from pipekit.tui.screens.connections import ConnectionsScreen

        self.app.push_screen(ConnectionsScreen())

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        box.value = ""
        if self.filter:
            self.filter = ""
            self.build_tree()
        box.display = False
        self.query_one("#modules", ModuleTree).focus()

    @on(Input.Changed, "#search")
    def _filter(self, event: Input.Changed) -> None:
        if event.value == self.filter:
            return
        self.filter = event.value
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY_S, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        self.build_tree()

    @on(Input.Submitted, "#search")
    def _search_done(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:  # typed faster than the delay: filter now
            self._filter_timer.stop()
            self._filter_timer = None
            self.build_tree()
        self.query_one("#modules", ModuleTree).focus()

    def action_quit(self) -> None:
        self.app.exit()


def _icon_style(icon: str) -> str:
    return {"✔": "green", "✘": "bold red", "○": "dim", "▶": "bold yellow"}.get(icon, "dim")
