"""Examples and small helpers the web-app tests share (a module of its own: `conftest` is a name every test folder
has, so importing from it could find another folder's)."""

from __future__ import annotations

import time

EXAMPLES = {
    "billing": [
        "I was charged twice for one order",
        "please refund the duplicate payment",
        "the invoice amount is wrong",
        "why is my bill so high this month",
        "cancel the extra charge on my card",
        "I need a receipt for my payment",
        "my payment failed but money left my account",
        "you overcharged me for the subscription",
    ],
    "shipping": [
        "where is my parcel",
        "my package has not arrived yet",
        "the delivery is two weeks late",
        "the tracking number does not work",
        "it was shipped to the wrong address",
        "when will my order be delivered",
        "the courier lost my box",
        "my parcel is stuck in customs",
    ],
    "account": [
        "I cannot log in to my account",
        "how do I reset my password",
        "change the email address on my profile",
        "my account is locked after three tries",
        "please delete my profile",
        "the two factor code never arrives",
        "I want to change my username",
        "update the phone number on my account",
    ],
}
PLANTED = "the courier lost my box"  # planted mislabelled: given 'billing' below


def example_rows(plant: bool = True) -> list[dict]:
    rows = [{"text": t, "label": label} for label, texts in EXAMPLES.items() for t in texts]
    if plant:
        next(r for r in rows if r["text"] == PLANTED)["label"] = "billing"
    return rows


LABELS = [
    {"name": "billing", "description": "invoices, charges, refunds and payments"},
    {"name": "shipping", "description": "where a parcel is, delivery times, couriers"},
    {"name": "account", "description": "logging in, passwords, profile details"},
]


def create_classifier(client, name: str = "tickets", rows: list[dict] | None = None) -> int:
    response = client.post("/api/classifiers", json={"name": name, "labels": LABELS})
    assert response.status_code == 201, response.text
    cid = response.json()["id"]
    added = client.post(f"/api/classifiers/{cid}/examples", json={"examples": rows or example_rows()})
    assert added.status_code == 201, added.text
    return cid


def wait_job(client, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        time.sleep(0.1)


def train(client, cid: int, method: str = "linear-probe", **params) -> dict:
    response = client.post(f"/api/classifiers/{cid}/train", json={"method": method, "params": params})
    assert response.status_code == 202, response.text
    return wait_job(client, response.json()["id"])
