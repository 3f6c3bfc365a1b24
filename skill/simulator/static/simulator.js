// The simulator page: each phrase is resolved by the server (POST /simulator/turn, the skill's own
// interaction model), then the envelope it returns is posted to /alexa exactly as Alexa would post
// it. The session (id, attributes, an elicited slot) is carried from one turn to the next here.
"use strict";

const $ = (selector) => document.querySelector(selector);

function randomId(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

// The same simulated user across reloads, so reminders set earlier are still listed.
function storedUser() {
  let user = localStorage.getItem("cramp-coach-simulator-user");
  if (!user) {
    user = randomId("amzn1.ask.account.SIMULATOR-");
    localStorage.setItem("cramp-coach-simulator-user", user);
  }
  return user;
}

const state = {
  userId: storedUser(),
  deviceId: "amzn1.ask.device.SIMULATOR",
  timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  session: null, // {id, attributes}
  elicit: null, // {intent, slot, slots}
  busy: false,
};

function addTurn(kind, text, meta) {
  const item = document.createElement("li");
  item.className = `turn ${kind}`;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (text instanceof Node) bubble.append(text);
  else bubble.textContent = text;
  item.append(bubble);
  if (meta) {
    const small = document.createElement("span");
    small.className = "meta";
    small.textContent = meta;
    item.append(small);
  }
  $("#conversation").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

// SSML -> what a listener hears, with the pauses shown; and the plain text to read aloud.
function speechOf(ssml) {
  const fragment = document.createDocumentFragment();
  let plain = "";
  const doc = new DOMParser().parseFromString(ssml || "<speak/>", "application/xml");
  const walk = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        fragment.append(child.textContent);
        plain += child.textContent;
      } else if (child.nodeName === "break") {
        const pause = document.createElement("span");
        pause.className = "pause";
        pause.textContent = ` (pause ${child.getAttribute("time") || ""}) `;
        fragment.append(pause);
        plain += " ";
      } else {
        walk(child);
      }
    }
  };
  walk(doc.documentElement);
  return { fragment, plain: plain.replace(/\s+/g, " ").trim() };
}

function speak(text) {
  if (!$("#speak").checked || !("speechSynthesis" in window) || !text) return;
  window.speechSynthesis.cancel();
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = $("#locale").value;
  window.speechSynthesis.speak(utterance);
}

function showResolved(resolved, envelope) {
  $("#request-type").textContent = resolved.request_type;
  $("#intent").textContent = resolved.intent || "–";
  $("#sample").textContent = resolved.sample || "–";
  const body = $("#slots tbody");
  body.replaceChildren();
  for (const [name, heard] of Object.entries(resolved.heard)) {
    const row = document.createElement("tr");
    for (const cell of [name, heard, resolved.values[name], resolved.ids[name] || ""]) {
      const td = document.createElement("td");
      td.textContent = cell;
      row.append(td);
    }
    body.append(row);
  }
  $("#note").textContent = resolved.note || "";
  $("#request-json").textContent = JSON.stringify(envelope, null, 2);
}

function showSession() {
  $("#session-state").textContent = state.session
    ? `open (${Object.keys(state.session.attributes).length} session attribute(s))` +
      (state.elicit ? `, waiting for ${state.elicit.slot}` : "")
    : "no session";
  $("#user-id").textContent = state.userId;
}

async function postJson(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

async function turn({ phrase = "", launch = false }) {
  if (state.busy) return;
  state.busy = true;
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  try {
    addTurn("you", launch ? "Alexa, open Cramp Coach" : phrase);
    const asked = await postJson("/simulator/turn", {
      phrase,
      launch,
      locale: $("#locale").value,
      timeZone: state.timeZone,
      userId: state.userId,
      deviceId: state.deviceId,
      notifications: $("#notifications").checked,
      session: state.session,
      elicit: state.elicit,
    });
    if (!asked.ok) {
      addTurn("error", asked.data?.error || `the simulator answered ${asked.status}`);
      return;
    }
    const { resolved, envelope } = asked.data;
    showResolved(resolved, envelope);
    // Real Alexa traffic from here on: the envelope, unchanged, to the skill's endpoint.
    const answered = await postJson("/alexa", envelope);
    $("#response-json").textContent = JSON.stringify(answered.data, null, 2);
    if (!answered.ok) {
      addTurn("error", `the skill answered ${answered.status}: ${answered.data?.error || "no reason given"}`);
      return;
    }
    const out = answered.data.response || {};
    const heard = resolved.intent ? `${resolved.request_type} · ${resolved.intent}` : resolved.request_type;
    const { fragment, plain } = speechOf(out.outputSpeech?.ssml);
    const cardText = out.card ? out.card.content || out.card.text || "" : "";
    // A card that repeats the speech adds nothing here; a different one (a permission card) does.
    if (out.card && cardText.replace(/\s+/g, " ").trim() !== plain) {
      const card = document.createElement("div");
      card.className = "card";
      card.textContent = `Card (${out.card.type}): ${[out.card.title, cardText].filter(Boolean).join(" — ")}`;
      fragment.append(card);
    }
    addTurn("alexa", plain ? fragment : "(silence)", heard);
    speak(plain);

    const elicit = (out.directives || []).find((d) => d.type === "Dialog.ElicitSlot");
    if (out.shouldEndSession === true) {
      state.session = null;
      state.elicit = null;
      addTurn("system", "The session ended. The next phrase starts a new one.");
    } else {
      state.session = { id: envelope.session.sessionId, attributes: answered.data.sessionAttributes || {} };
      state.elicit = elicit
        ? {
            intent: elicit.updatedIntent?.name || resolved.intent,
            slot: elicit.slotToElicit,
            slots: elicit.updatedIntent?.slots || {},
          }
        : null;
    }
  } catch (error) {
    addTurn("error", `could not reach the server: ${error.message}`);
  } finally {
    state.busy = false;
    for (const button of document.querySelectorAll("button")) button.disabled = false;
    showSession();
    $("#phrase").focus();
  }
}

function setUpSpeechRecognition() {
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (!Recognition) return; // typing still works
  const mic = $("#mic");
  mic.hidden = false;
  mic.addEventListener("click", () => {
    const recognition = new Recognition();
    recognition.lang = $("#locale").value;
    recognition.interimResults = false;
    recognition.addEventListener("result", (event) => {
      const words = event.results[0][0].transcript;
      $("#phrase").value = words;
      turn({ phrase: words });
      $("#phrase").value = "";
    });
    recognition.addEventListener("error", (event) => addTurn("error", `speech recognition: ${event.error}`));
    recognition.start();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("#zone").textContent = state.timeZone;
  showSession();
  $("#say").addEventListener("submit", (event) => {
    event.preventDefault();
    const phrase = $("#phrase").value.trim();
    if (!phrase) return;
    $("#phrase").value = "";
    turn({ phrase });
  });
  $("#launch").addEventListener("click", () => turn({ launch: true }));
  $("#new-session").addEventListener("click", () => {
    state.session = null;
    state.elicit = null;
    showSession();
    addTurn("system", "Session ended by you.");
  });
  $("#new-user").addEventListener("click", () => {
    localStorage.removeItem("cramp-coach-simulator-user");
    state.userId = storedUser();
    state.session = null;
    state.elicit = null;
    $("#conversation").replaceChildren();
    showSession();
    addTurn("system", "A new user: no reminders, nothing remembered.");
  });
  for (const example of document.querySelectorAll(".example")) {
    example.addEventListener("click", () => turn({ phrase: example.textContent }));
  }
  setUpSpeechRecognition();
});
