// agileclf app: plain fetch against the JSON API. Texts are only ever set with textContent, never as HTML.
"use strict";

async function api(method, url, body) {
  const options = { method, headers: {} };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error((payload.error && payload.error.message) || `request failed (${response.status})`);
  }
  return payload;
}

function flash(message, kind = "ok") {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = `flash ${kind}`;
  box.hidden = false;
  sessionStorage.removeItem("flash");
}

function flashAfterReload(message) {
  sessionStorage.setItem("flash", message);
  location.reload();
}

function on(id, event, handler) {
  const element = document.getElementById(id);
  if (element) element.addEventListener(event, handler);
}

function guarded(handler) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    try {
      await handler(event);
    } catch (error) {
      flash(error.message, "error");
    }
  };
}

const page = () => document.getElementById("page");
const classifierId = () => page().dataset.classifier;
const base = () => `/api/classifiers/${classifierId()}`;

// ---- home: create a classifier -------------------------------------------------------------------------
on("create-form", "submit", guarded(async () => {
  const labels = document.getElementById("create-labels").value.split("\n")
    .map((line) => line.trim()).filter(Boolean)
    .map((line) => {
      const at = line.indexOf(":");
      return at < 0 ? { name: line, description: "" }
        : { name: line.slice(0, at).trim(), description: line.slice(at + 1).trim() };
    });
  const created = await api("POST", "/api/classifiers", {
    name: document.getElementById("create-name").value,
    description: document.getElementById("create-description").value,
    labels,
  });
  location.href = `/c/${created.id}`;
}));

// ---- examples page --------------------------------------------------------------------------------------
on("add-one-form", "submit", guarded(async () => {
  const text = document.getElementById("one-text").value;
  const label = document.getElementById("one-label").value;
  await api("POST", `${base()}/examples`, { examples: [{ text, label }] });
  sessionStorage.setItem("last-label", label);
  flashAfterReload(`Added one "${label}" example.`);
}));

on("paste-form", "submit", guarded(async () => {
  const result = await api("POST", `${base()}/examples/paste`, {
    label: document.getElementById("paste-label").value,
    text: document.getElementById("paste-text").value,
  });
  const skipped = result.skipped ? ` (${result.skipped} skipped: already examples)` : "";
  flashAfterReload(`Added ${result.added} examples${skipped}.`);
}));

on("upload-form", "submit", guarded(async () => {
  const form = new FormData();
  form.append("file", document.getElementById("upload-file").files[0]);
  form.append("text_field", document.getElementById("upload-text-field").value);
  form.append("label_field", document.getElementById("upload-label-field").value);
  form.append("add_labels", document.getElementById("upload-add-labels").checked ? "true" : "false");
  const result = await api("POST", `${base()}/examples/upload`, form);
  const list = document.getElementById("upload-errors");
  list.replaceChildren(...result.errors.map((message) => {
    const item = document.createElement("li");
    item.textContent = message;
    return item;
  }));
  const skipped = result.errors.length ? `; ${result.errors.length} row(s) skipped, see the list` : "";
  if (result.errors.length) flash(`Added ${result.added} examples${skipped}.`, "warn");
  else flashAfterReload(`Added ${result.added} examples.`);
}));

on("add-label-form", "submit", guarded(async () => {
  await api("POST", `${base()}/labels`, {
    name: document.getElementById("new-label-name").value,
    description: document.getElementById("new-label-description").value,
  });
  flashAfterReload("Label added.");
}));

document.querySelectorAll("[data-action=save-label]").forEach((button) => {
  button.addEventListener("click", guarded(async () => {
    const id = button.dataset.labelId;
    const text = document.querySelector(`textarea[data-label-id="${id}"]`).value;
    await api("PATCH", `${base()}/labels/${id}`, { description: text });
    flash("Description saved.");
  }));
});

on("undo-button", "click", guarded(async () => {
  const result = await api("POST", `${base()}/undo`);
  flashAfterReload(`Undid change ${result.undone_version}.`);
}));

function exampleRow(element) {
  const row = element.closest("tr");
  return { row, id: row.dataset.exampleId, revision: Number(row.dataset.revision) };
}

document.querySelectorAll("#example-list select.relabel").forEach((select) => {
  select.addEventListener("change", guarded(async () => {
    const { id, revision } = exampleRow(select);
    await api("PATCH", `${base()}/examples/${id}`, { label: select.value, revision });
    flashAfterReload(`Relabelled as "${select.value}".`);
  }));
});

document.querySelectorAll("#example-list td.text").forEach((cell) => {
  cell.addEventListener("input", () => {
    cell.closest("tr").querySelector("[data-action=save-text]").hidden = cell.textContent === cell.dataset.original;
  });
});

document.querySelectorAll("#example-list [data-action=save-text]").forEach((button) => {
  button.addEventListener("click", guarded(async () => {
    const { row, id, revision } = exampleRow(button);
    await api("PATCH", `${base()}/examples/${id}`, { text: row.querySelector("td.text").textContent, revision });
    flashAfterReload("Text saved.");
  }));
});

document.querySelectorAll("#example-list [data-action=delete]").forEach((button) => {
  button.addEventListener("click", guarded(async () => {
    const { id, revision } = exampleRow(button);
    await api("DELETE", `${base()}/examples/${id}?revision=${revision}`);
    flashAfterReload("Deleted. Undo brings it back.");
  }));
});

on("example-filter", "input", (event) => {
  const needle = event.target.value.toLowerCase();
  document.querySelectorAll("#example-list tbody tr").forEach((row) => {
    row.hidden = needle && !row.textContent.toLowerCase().includes(needle);
  });
});

// ---- train page: queue, live progress (server-sent events), cancel, relabel suspicious examples ----------
function watchJob(jobId) {
  const box = document.getElementById("job-box");
  box.hidden = false;
  document.getElementById("job-cancel").dataset.jobId = jobId;
  const events = new EventSource(`/api/jobs/${jobId}/events`);
  events.onmessage = (message) => {
    const job = JSON.parse(message.data);
    document.getElementById("job-progress").value = job.progress;
    document.getElementById("job-message").textContent = job.message;
    if (job.status === "done") {
      events.close();
      location.href = `/c/${classifierId()}/train?version=${job.model_version_id}`;
    } else if (job.status === "failed" || job.status === "cancelled") {
      events.close();
      box.hidden = true;
      const error = document.getElementById("job-error");
      error.textContent = job.status === "failed" ? `Training failed: ${job.error}` : "Training was cancelled.";
      error.hidden = false;
    }
  };
}

function methodParams() {
  const params = {};
  const box = document.getElementById("train-params");
  for (const line of (box ? box.value : "").split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(`parameters: write name=value, not "${line}"`);
    params[line.slice(0, at).trim().replaceAll("-", "_")] = line.slice(at + 1).trim();
  }
  return params;
}

function showMethodParams() {
  const data = document.getElementById("method-data");
  const method = document.getElementById("train-method");
  if (!data || !method) return;
  const chosen = JSON.parse(data.textContent).find((m) => m.name === method.value);
  document.getElementById("method-summary").textContent = chosen ? chosen.summary : "";
  const rows = (chosen ? chosen.params : []).map((p) => {
    const row = document.createElement("tr");
    for (const value of [p.name, `default ${p.default}`, p.help]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    return row;
  });
  document.querySelector("#method-params tbody").replaceChildren(...rows);
}

on("train-form", "submit", guarded(async () => {
  const method = document.getElementById("train-method").value;
  const job = await api("POST", `${base()}/train`, { method, params: methodParams() });
  document.getElementById("job-error").hidden = true;
  flash(`Training ${job.method} in the background…`);
  watchJob(job.id);
}));

on("job-cancel", "click", guarded(async (event) => {
  await api("POST", `/api/jobs/${event.target.dataset.jobId}/cancel`);
  flash("Cancelling after the current step…", "warn");
}));

document.querySelectorAll("#label-issues [data-action=relabel]").forEach((button) => {
  button.addEventListener("click", guarded(async () => {
    const id = button.closest("tr").dataset.exampleId;
    await api("PATCH", `${base()}/examples/${id}`, { label: button.dataset.label });
    button.replaceWith(document.createTextNode(`relabelled as ${button.dataset.label}`));
    flash("Relabelled. Train again to see the effect.");
  }));
});

on("test-form", "submit", guarded(async () => {
  const form = new FormData();
  form.append("file", document.getElementById("test-file").files[0]);
  const versionId = document.getElementById("results").dataset.versionId;
  await api("POST", `/api/versions/${versionId}/test`, form);
  flashAfterReload("Test file scored.");
}));

// ---- try it -----------------------------------------------------------------------------------------------
on("try-form", "submit", guarded(async () => {
  const versionId = document.getElementById("try-version").value;
  const text = document.getElementById("try-text").value;
  const result = (await api("POST", `/api/versions/${versionId}/predict`, { texts: [text] })).results[0];
  document.getElementById("try-label").textContent = result.label;
  document.getElementById("try-probability").textContent = `(${(result.probability * 100).toFixed(0)}% sure)`;
  const rows = Object.entries(result.probabilities).sort((a, b) => b[1] - a[1]).map(([label, p]) => {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = label;
    const bar = document.createElement("td");
    const fill = document.createElement("span");
    fill.className = "bar";
    fill.style.width = `${Math.max(1, p * 100)}%`;
    bar.append(fill);
    const value = document.createElement("td");
    value.textContent = `${(p * 100).toFixed(1)}%`;
    row.append(name, bar, value);
    return row;
  });
  document.querySelector("#try-bars tbody").replaceChildren(...rows);
  document.getElementById("try-result").hidden = false;
}));

// ---- what to label next -------------------------------------------------------------------------------------
on("pool-form", "submit", guarded(async () => {
  const result = await api("POST", `${base()}/pool`, { text: document.getElementById("pool-text").value });
  flashAfterReload(`${result.added} text(s) added to the waiting list.`);
}));

on("pool-upload-form", "submit", guarded(async () => {
  const form = new FormData();
  form.append("file", document.getElementById("pool-file").files[0]);
  const result = await api("POST", `${base()}/pool/upload`, form);
  flashAfterReload(`${result.added} text(s) added to the waiting list.`);
}));

on("rank-button", "click", guarded(async () => {
  const result = await api("GET", `${base()}/next?limit=20`);
  const template = document.getElementById("label-options");
  const rows = result.items.map((item) => {
    const row = document.createElement("tr");
    const text = document.createElement("td");
    text.className = "text";
    text.textContent = item.text;
    const guess = document.createElement("td");
    guess.textContent = item.predicted;
    if (item.suggested_label) {
      const chip = document.createElement("span");
      chip.className = "chip suggested";
      chip.textContent = `written for ${item.suggested_label}`;
      guess.append(document.createElement("br"), chip);
    }
    const sure = document.createElement("td");
    sure.textContent = `${(item.probabilities[item.predicted] * 100).toFixed(0)}%`;
    const actions = document.createElement("td");
    actions.append(template.content.cloneNode(true));
    actions.querySelectorAll("button").forEach((button) => {
      button.addEventListener("click", guarded(async () => {
        await api("POST", `${base()}/pool/${item.id}/label`, { label: button.dataset.label });
        actions.textContent = `labelled ${button.dataset.label}`;
      }));
    });
    row.append(text, guess, sure, actions);
    return row;
  });
  document.querySelector("#next-list tbody").replaceChildren(...rows);
  document.getElementById("next-list").hidden = false;
  if (!rows.length) flash("Nothing is waiting: add texts above.", "warn");
}));

on("suggest-form", "submit", guarded(async () => {
  const perClass = Number(document.getElementById("suggest-per-class").value);
  const job = await api("POST", `${base()}/suggest`, { per_class: perClass });
  const status = document.getElementById("suggest-status");
  status.textContent = "Writing suggestions in the background…";
  const events = new EventSource(`/api/jobs/${job.id}/events`);
  events.onmessage = (message) => {
    const state = JSON.parse(message.data);
    status.textContent = state.error ? `Failed: ${state.error}` : state.message;
    if (state.status === "done") { events.close(); flashAfterReload(state.message); }
    if (state.status === "failed" || state.status === "cancelled") events.close();
  };
}));

// ---- versions: serve, compare ---------------------------------------------------------------------------------
document.querySelectorAll("#version-list [data-action=serve]").forEach((button) => {
  button.addEventListener("click", guarded(async () => {
    const id = button.closest("tr").dataset.versionId;
    const served = await api("POST", `/api/versions/${id}/serve`, {});
    flashAfterReload(`Serving at ${served.classify}`);
  }));
});

document.querySelectorAll("#version-list [data-action=stop-serve]").forEach((button) => {
  button.addEventListener("click", guarded(async () => {
    await api("DELETE", `/api/versions/${button.closest("tr").dataset.versionId}/serve`);
    flashAfterReload("Stopped serving.");
  }));
});

on("compare-form", "submit", guarded(async () => {
  const methods = [...document.querySelectorAll("#compare-form input:checked")].map((box) => box.value);
  const result = await api("POST", `${base()}/compare`, { methods });
  sessionStorage.setItem("flash", `Queued ${result.jobs.length} training runs; they appear here when done.`);
  location.href = `/c/${classifierId()}/train`;
}));

// ---- on every page --------------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  const pending = sessionStorage.getItem("flash");
  if (pending) flash(pending);
  const lastLabel = sessionStorage.getItem("last-label");
  const select = document.getElementById("one-label");
  if (select && lastLabel) select.value = lastLabel;
  const active = page() && page().dataset.activeJob;
  if (active) watchJob(active);
  const method = document.getElementById("train-method");
  if (method) {
    method.addEventListener("change", showMethodParams);
    showMethodParams();
  }
});
