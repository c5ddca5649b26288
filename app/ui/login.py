"""Who is at the keyboard: pick a user, with a PIN when they set one."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.admin import verify_pin
from app.core.queries.settings import UserView, users
from app.ui.context import AppContext


class UserPicker(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("userPicker")
        self.setWindowTitle(f"{ctx.shop.name}: who is working?")
        self.users: list[UserView] = ctx.read_now(lambda s: users(s, active_only=True))
        self.chosen: UserView | None = None
        self.list = QListWidget()
        last = QSettings().value("user/last")
        for user in self.users:
            item = QListWidgetItem(
                f"{user.name}  ·  {user.role}" + ("  🔒" if user.has_pin else "")
            )
            self.list.addItem(item)
            if user.name == last:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("PIN")
        self.message = QLabel("")
        self.message.setObjectName("error")
        self.list.currentRowChanged.connect(self._update)
        self.list.itemDoubleClicked.connect(lambda _i: self._accept())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        hint = QLabel("The audit trail records who did what.")
        hint.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.list)
        layout.addWidget(self.pin)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._update()

    def needed(self) -> bool:
        """Return False when there is one user without a PIN: no question to ask."""
        return not (len(self.users) == 1 and not self.users[0].has_pin)

    def _update(self) -> None:
        user = self.current()
        self.pin.setVisible(user is not None and user.has_pin)
        self.pin.clear()
        self.message.clear()

    def current(self) -> UserView | None:
        row = self.list.currentRow()
        return self.users[row] if 0 <= row < len(self.users) else None

    def choose(self, name: str, pin: str = "") -> bool:
        """Pick ``name`` (with ``pin``); True when accepted."""
        for row, user in enumerate(self.users):
            if user.name == name:
                self.list.setCurrentRow(row)
                self.pin.setText(pin)
                return self._accept()
        return False

    def _accept(self) -> bool:
        user = self.current()
        if user is None:
            return False
        pin = self.pin.text()
        if user.has_pin and not self.ctx.read_now(
            lambda s: verify_pin(s, user.id, pin)
        ):
            self.message.setText(f"Wrong PIN for {user.name}; try again.")
            self.pin.selectAll()
            return False
        self.chosen = user
        QSettings().setValue("user/last", user.name)
        self.accept()
        return True
