"""Import: a wizard for sales history, products and stock counts.

Steps: choose the file, preview how it reads, edit the account mapping
(history only), see every problem before anything is written, import with
progress and Cancel, and read the reconciliation. Reading, checking and
importing run in background tasks (``app.ui.ops``), and the work itself is
in ``import_tasks``.

A cancelled task still hands its result to the page, through the
``delivered`` signal, because a cancelled history import keeps its
committed chunks and the page reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.core.changes import Changes
from app.core.exceptions import BackroomError
from app.core.queries.settings import AccountView, accounts
from app.ui.context import AppContext
from app.ui.ops import Task, TaskControl
from app.ui.pages.base import Page
from app.ui.widgets import heading

if TYPE_CHECKING:
    from app.core.importing.online_retail import AccountMapping
    from app.core.importing.progress import CancelToken, Progress
    from app.ui.pages.import_check import CheckStep, RunStep
    from app.ui.pages.import_report import ReportStep
    from app.ui.pages.import_steps import (
        ChooseStep,
        MappingStep,
        PreviewStep,
        StepBar,
    )
    from app.ui.pages.import_tasks import (
        CheckOutcome,
        FilePreview,
        ImportOutcome,
        ImportPlan,
    )

log = logging.getLogger(__name__)

CHOOSE, PREVIEW, MAPPING, CHECK, IMPORT, REPORT = range(6)


class ImportPage(Page):
    """The import wizard as a page of the main window.

    The wizard's widgets, and the importers behind them, are built the first
    time the page is shown, so that they cost the window's start nothing.
    ``chunk_invoices`` is the number of history invoices written per
    transaction (None: the importer's default). ``progress_reported``
    carries each ``Progress`` record of a running check or import; it is
    emitted on the task's thread.
    """

    key = "import"

    progress_reported = Signal(object)
    delivered = Signal(object)

    bar: StepBar
    choose: ChooseStep
    previewer: PreviewStep
    mapper: MappingStep
    checker: CheckStep
    runner: RunStep
    report: ReportStep
    stack: QStackedWidget
    back: QPushButton
    over: QPushButton
    next: QPushButton
    next_hint: QLabel

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.chunk_invoices: int | None = None
        self.built = False
        self.step = CHOOSE
        self.preview: FilePreview | None = None
        self.check: CheckOutcome | None = None
        self.outcome: ImportOutcome | None = None
        self.mapping: AccountMapping | None = None
        self.account_names: dict[str, str] = {}
        self.task: Task | None = None
        self._token: CancelToken | None = None
        self._handler: Callable[[Any], None] | None = None
        self.delivered.connect(self._deliver)
        self.progress_reported.connect(self._progress)

    def build(self) -> None:
        """Create the wizard's widgets, once."""
        if self.built:
            return
        from app.ui.pages.import_check import CheckStep, RunStep
        from app.ui.pages.import_report import ReportStep
        from app.ui.pages.import_steps import (
            ChooseStep,
            MappingStep,
            PreviewStep,
            StepBar,
        )
        from app.ui.pages.import_tasks import default_mapping_rows

        self.built = True
        self.bar = StepBar()
        self.choose = ChooseStep()
        self.choose.changed.connect(self._choice_changed)
        self.previewer = PreviewStep()
        self.mapper = MappingStep()
        self.mapper.reset.clicked.connect(
            lambda: self.mapper.set_rows(default_mapping_rows())
        )
        self.checker = CheckStep()
        self.checker.skip_changed.connect(lambda _on: self._update_buttons())
        self.checker.recheck_requested.connect(self.start_check)
        self.runner = RunStep()
        self.runner.cancel_requested.connect(self.cancel_task)
        self.report = ReportStep()
        self.report.another_requested.connect(self.start_over)
        self.report.show_requested.connect(lambda key: self.ctx.navigate(key))
        self.stack = QStackedWidget()
        for widget in (
            self.choose,
            self.previewer,
            self.mapper,
            self.checker,
            self.runner,
            self.report,
        ):
            self.stack.addWidget(widget)

        self.back = QPushButton("Back")
        self.back.clicked.connect(self.go_back)
        self.over = QPushButton("Start over")
        self.over.clicked.connect(self.start_over)
        self.next = QPushButton("Next")
        self.next.setObjectName("primary")
        self.next.clicked.connect(self.go_next)
        self.next_hint = QLabel("")
        self.next_hint.setObjectName("hint")
        buttons = QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.next_hint)
        buttons.addWidget(self.over)
        buttons.addWidget(self.next)

        intro = QLabel(
            "Bring in sales history, products or stock counts. Every step shows "
            "what will happen, and nothing is written before the Import step."
        )
        intro.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading("Import", "pageTitle"))
        layout.addWidget(intro)
        layout.addWidget(self.bar)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self._show(CHOOSE)

    # --- page protocol ----------------------------------------------------

    def activate(self) -> None:
        self.build()
        super().activate()

    def refresh(self) -> None:
        """Reload the chart of accounts. The wizard keeps its place."""
        self.ctx.ops.read(accounts, self._set_accounts, label="Loading the accounts")

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if changes.settings:
            self.stale = True

    def _set_accounts(self, found: list[AccountView]) -> None:
        self.account_names = {a.code: a.name for a in found}
        if self.built:
            self.mapper.set_accounts(found)

    # --- navigation -------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None

    def _skipped(self) -> frozenset[int]:
        return frozenset() if self.choose.kind == "history" else frozenset({MAPPING})

    def _show(self, step: int) -> None:
        self.step = step
        self.stack.setCurrentIndex(step)
        self.bar.set_current(step, self._skipped())
        self._update_buttons()

    def _update_buttons(self) -> None:
        step = self.step
        busy = self.running
        self.back.setVisible(step in (PREVIEW, MAPPING, CHECK))
        self.back.setEnabled(not busy)
        self.over.setVisible(step not in (CHOOSE, IMPORT, REPORT))
        self.over.setEnabled(not busy)
        self.next.setVisible(step not in (IMPORT, REPORT))
        self.next.setText("Import" if step == CHECK else "Next")
        ready, reason = self._ready()
        enabled = ready and not busy
        self.next.setEnabled(enabled)
        # The style sheet's primary colours would hide the disabled state.
        self.next.setObjectName("primary" if enabled else "")
        self.next.style().unpolish(self.next)
        self.next.style().polish(self.next)
        self.next_hint.setText("" if ready or busy else reason)

    def _ready(self) -> tuple[bool, str]:
        """Return whether Next may run, and why not."""
        if self.step == CHOOSE:
            problem = self.choose.problem()
            return problem is None, "Choose a file that exists."
        if self.step == PREVIEW:
            if self.preview is None:
                return False, "Reading the file…"
            if self.preview.missing:
                return False, "The header lacks a required column. See Columns."
            return True, ""
        if self.step == MAPPING:
            return self.mapper.loaded, "Loading the mapping…"
        if self.step == CHECK:
            if self.check is None:
                return False, ""
            if not self.check.can_import:
                return False, "No row can be read. Correct the header first."
            if self.checker.ready:
                return True, ""
            return False, "Tick Skip the rows with problems, or correct the file."
        return False, ""

    def go_next(self) -> None:
        from app.ui.pages.import_tasks import mapping_from_rows

        if not self.next.isEnabled():
            return
        if self.step == CHOOSE:
            self.start_preview()
        elif self.step == PREVIEW:
            if self.choose.kind == "history":
                self.open_mapping()
            else:
                self.start_check()
        elif self.step == MAPPING:
            try:
                self.mapping = mapping_from_rows(self.mapper.rows())
            except BackroomError as exc:
                self.ctx.ops.report_error("Checking the mapping", exc, self)
                return
            self.start_check()
        elif self.step == CHECK:
            self.start_import()

    def go_back(self) -> None:
        if self.running:
            return
        if self.step == PREVIEW:
            self._show(CHOOSE)
        elif self.step == MAPPING:
            self._show(PREVIEW)
        elif self.step == CHECK:
            self._show(MAPPING if self.choose.kind == "history" else PREVIEW)

    def start_over(self) -> None:
        if self.running:
            return
        self.preview = self.check = self.outcome = None
        self._show(CHOOSE)

    def _choice_changed(self) -> None:
        self.preview = self.check = None
        if self.step == CHOOSE:
            self.bar.set_current(CHOOSE, self._skipped())
            self._update_buttons()

    def plan(self) -> ImportPlan:
        """Return the choices of every step, read on the GUI thread."""
        from app.core.importing.history import DEFAULT_CHUNK_INVOICES
        from app.ui.pages.import_tasks import ImportPlan

        path = self.choose.file
        assert path is not None
        kind = self.choose.kind
        history = kind == "history"
        return ImportPlan(
            kind=kind,
            path=path,
            product_format=self.choose.format_choice(),
            memo_only=history and self.choose.memo_only.isChecked(),
            mapping=self.mapping if history else None,
            save_mapping=history and self.mapper.save.isChecked(),
            counted_on=self.choose.counted_on.date().toPython()  # type: ignore[arg-type]
            if kind == "stock"
            else None,
            skip_invalid=self.checker.skip.isChecked(),
            chunk_invoices=self.chunk_invoices or DEFAULT_CHUNK_INVOICES,
        )

    # --- background work --------------------------------------------------

    def _run(
        self,
        label: str,
        work: Callable[[Callable[[Progress], None], Callable[[], bool]], Any],
        handler: Callable[[Any], None],
        fallback: int,
    ) -> None:
        """Run ``work(progress, cancel)`` as a job; ``handler`` takes its result.

        The result reaches ``handler`` even when the task was cancelled. On an
        error the wizard returns to step ``fallback`` and the error dialog
        opens.
        """
        from app.core.importing.progress import CancelToken
        from app.ui.pages.import_tasks import progress_text

        token = CancelToken()
        self._token = token
        self._handler = handler
        reported = self.progress_reported

        def body(control: TaskControl) -> Any:
            def progress(record: Progress) -> None:
                control.reporter(progress_text(record), record.fraction or 0.0)
                reported.emit(record)

            def cancel() -> bool:
                return token.cancelled or control.cancelled

            result = work(progress, cancel)
            self.delivered.emit(result)
            return result

        def failed(exc: BaseException) -> None:
            self.task = None
            self._token = None
            self._show(fallback)
            self.ctx.ops.report_error(label, exc, self)

        self.task = self.ctx.ops.job(body, label=label, parent=self, on_error=failed)
        self._update_buttons()

    @Slot(object)
    def _deliver(self, result: Any) -> None:
        handler = self._handler
        self.task = None
        self._token = None
        self._handler = None
        if handler is not None:
            handler(result)

    @Slot(object)
    def _progress(self, record: Progress) -> None:
        from app.ui.pages.import_tasks import progress_text

        self.runner.show_progress(progress_text(record), record.fraction)

    def cancel_task(self) -> None:
        """Ask the running check or import to stop. Safe to call from any thread.

        A history import stops before its next chunk of invoices and keeps
        the chunks already committed. The other imports write nothing.
        """
        token = self._token
        if token is not None:
            token.cancel()
        task = self.task
        if task is not None:
            task.control.cancel()

    # --- steps ------------------------------------------------------------

    def start_preview(self) -> None:
        from app.ui.pages.import_tasks import preview_file

        path = self.choose.file
        kind = self.choose.kind
        if path is None:
            return
        self.preview = None
        self._run(
            f"Reading {path.name}",
            lambda _progress, _cancel: preview_file(path, kind),
            self._show_preview,
            CHOOSE,
        )

    def _show_preview(self, preview: FilePreview) -> None:
        self.preview = preview
        if preview.product_format is not None:
            self.choose.set_format(preview.product_format)
        self.previewer.show_preview(preview, self.choose.kind, self.ctx.fmt)
        self._show(PREVIEW)

    def open_mapping(self) -> None:
        from app.core.importing.history import load_mapping
        from app.ui.pages.import_tasks import default_mapping_rows, mapping_rows

        if self.mapper.loaded:
            self._show(MAPPING)
            return

        def load(session: Session) -> tuple[AccountMapping, list[AccountView]]:
            return load_mapping(session), accounts(session)

        def loaded(found: tuple[AccountMapping, list[AccountView]]) -> None:
            mapping, chart = found
            self._set_accounts(chart)
            self.mapper.set_rows(mapping_rows(mapping))
            self._update_buttons()

        def failed(exc: BaseException) -> None:
            # The saved mapping is invalid, so the table starts from the default.
            self.ctx.ops.report_error("Loading the saved mapping", exc, self)
            self.mapper.set_rows(default_mapping_rows())
            self._update_buttons()

        self._show(MAPPING)
        self.ctx.ops.read(load, loaded, label="Loading the mapping", on_error=failed)

    def start_check(self) -> None:
        from app.ui.pages.import_tasks import run_check

        plan = self.plan()
        engine = self.ctx.engine
        user_id = self.ctx.ops.user_id
        self.check = None
        self.runner.start(
            f"Checking {plan.path.name}",
            "Every row is read and checked, and nothing is written. Cancel stops the "
            "check.",
        )
        back = MAPPING if plan.kind == "history" else PREVIEW
        self._show(IMPORT)
        self.bar.set_current(CHECK, self._skipped())
        self._run(
            f"Checking {plan.path.name}",
            lambda progress, cancel: run_check(
                engine, plan, user_id=user_id, progress=progress, cancel=cancel
            ),
            self._show_check,
            back,
        )

    def _show_check(self, outcome: CheckOutcome) -> None:
        if outcome.cancelled:
            self._show(MAPPING if outcome.plan.kind == "history" else PREVIEW)
            self.next_hint.setText("The check was cancelled.")
            return
        self.check = outcome
        self.checker.show_outcome(outcome, self.ctx.fmt)
        self._show(CHECK)

    def start_import(self) -> None:
        from app.ui.pages.import_tasks import run_import

        plan = self.plan()
        engine = self.ctx.engine
        user_id = self.ctx.ops.user_id
        if plan.kind == "history":
            note = (
                f"Invoices are committed {plan.chunk_invoices:,} at a time. Cancel "
                "stops before the next chunk: the invoices already written stay, "
                "and importing the same file again adds the rest."
            )
        else:
            note = "The import is one transaction: Cancel writes nothing."
        self.runner.start(f"Importing {plan.path.name}", note)
        self._show(IMPORT)
        self._run(
            f"Importing {plan.path.name}",
            lambda progress, cancel: run_import(
                engine, plan, user_id=user_id, progress=progress, cancel=cancel
            ),
            self._show_report,
            CHECK,
        )

    def _show_report(self, outcome: ImportOutcome) -> None:
        if outcome.cancelled:
            log.info("import of %s cancelled by the user", outcome.plan.path)
        self.outcome = outcome
        self.report.show_outcome(outcome, self.ctx.fmt, self.account_names)
        self._show(REPORT)
        changes = outcome.changes
        if changes.orders or changes.entries or changes.variants:
            self.ctx.ops.changed.emit(changes)
