"""Seed 001's design, for comparison: FastAPI + SQLite, one connection and one commit per write.

Run by bench/app.sh with `uvicorn app:app` (one worker, as the seed's Dockerfile did).
"""
import os
import sqlite3
from datetime import datetime, timezone

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

DB = os.environ.get("DB_PATH", "seed.db")
app = FastAPI()


def conn():
    c = sqlite3.connect(DB)
    return c


with conn() as c:
    c.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY, counter INTEGER, message TEXT)")
    c.execute("INSERT OR IGNORE INTO state VALUES (1, 0, 'Initial state')")
    c.execute("CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY AUTOINCREMENT, counter INTEGER, message TEXT, ts TEXT)")


class Update(BaseModel):
    counter: int
    message: str


@app.get("/health")
def health():
    return "ok"


@app.get("/status")
def status():
    c = conn()
    counter, message = c.execute("SELECT counter, message FROM state WHERE id = 1").fetchone()
    c.close()
    return {"counter": counter, "message": message, "timestamp": datetime.now(timezone.utc).isoformat()}


@app.post("/update")
def update(body: Update, api_key: str = Header(None, alias="API-Key")):
    if api_key != "wiz":
        raise HTTPException(status_code=401, detail="Invalid API key")
    c = conn()
    ts = datetime.now(timezone.utc).isoformat()
    c.execute("UPDATE state SET counter = ?, message = ? WHERE id = 1", (body.counter, body.message))
    c.execute("INSERT INTO logs (counter, message, ts) VALUES (?, ?, ?)", (body.counter, body.message, ts))
    c.commit()
    c.close()
    return {"counter": body.counter, "message": body.message}
