"""The ceiling: a bare FastAPI app, served by uvicorn exactly like Strata (see bench/servers.py).

Whatever Strata's endpoints reach is compared with what this app reaches on the same machine, the
same server settings and the same load generator, so the ratio shows what the application itself
costs, not what FastAPI, uvicorn or the machine cost.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="Strata bench baseline")


@app.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}
