# SPDX-License-Identifier: MIT
# A FastAPI app under uvicorn on loopback whose handler awaits a slow dependency:
# argv: READY_FILE. Writes the port to READY_FILE once it serves; stops on SIGTERM.
import asyncio
import socket
import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()


async def slow_dependency():
    await asyncio.sleep(0.05)  # a database or a remote service
    return 42


@app.get("/items")
async def items():
    value = await slow_dependency()
    return {"value": value}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(uvicorn.Server):
    def __init__(self, config, ready, port):
        super().__init__(config)
        self.ready, self.port = ready, port

    async def startup(self, sockets=None):
        await super().startup(sockets)
        with open(self.ready, "w") as f:
            f.write(str(self.port))


port = free_port()
Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"),
       sys.argv[1], port).run()
