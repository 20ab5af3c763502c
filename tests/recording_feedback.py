"""Processing feedback that keeps every message, to check what a run says (and never says)."""

from __future__ import annotations

from qgis.core import QgsProcessingFeedback


class RecordingFeedback(QgsProcessingFeedback):
    """Feedback that keeps every message (``text()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.lines.append(warning)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        self.lines.append(error)

    def pushDebugInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)

    def pushCommandInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)

    def text(self) -> str:
        return "\n".join(self.lines)
