"""The baseline: a bare Falcon app returning a constant JSON list."""

from __future__ import annotations

import falcon

CONSTANT = [{"uuid": "af6727bf-29c7-43dd-b42f-a5d7ede28337", "name": "bare", "size": 1}]


class ConstantResource:
    """Answer every GET with the same small JSON list."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the constant list."""
        resp.media = CONSTANT


def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    """Build the baseline app: one route, no middleware."""
    app = falcon.App()
    app.add_route("/", ConstantResource())
    return app


app = create_app()
