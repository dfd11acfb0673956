from typing import Any

BEAT: dict[str, dict[str, Any]] = {}
