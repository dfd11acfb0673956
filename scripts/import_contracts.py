"""The layers contract `lint-imports` checks (pyproject.toml, [tool.importlinter]; the order
is explained in docs/design.md, "Layers").

It is import-linter's layers contract over the product code: each app's tests package is
taken out of the graph first. An app's tests drive the whole stack (a webhook received,
then the live page it wakes), so they import from apps above their own; the rule is about
what the product imports, and every import of the product is checked, with no exceptions.
"""

from __future__ import annotations

import grimp
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import ContractCheck


def _is_test_module(name: str) -> bool:
    return "tests" in name.split(".")[1:]


class ProductLayersContract(LayersContract):
    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        for module in [m for m in graph.modules if _is_test_module(m)]:
            graph.remove_module(module)
        return super().check(graph, verbose)
