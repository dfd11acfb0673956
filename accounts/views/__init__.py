"""Pages of the accounts console, one module per service module (accounts/services/).
Thin: parse the request, ask access/selectors/services, render one template (or its
fragment when htmx asks)."""
