// Shared set-up for the end-to-end tests: a virtual-alexa device talking to the real skill server.
//
// tests/test_simulator.py starts the skill (and a stub of the Alexa APIs) and passes, in env vars:
//   CRAMP_SKILL_URL   the skill endpoint, e.g. http://127.0.0.1:PORT/alexa
//   CRAMP_MODEL_PATH  the interaction model to resolve utterances with, e.g. interaction_models/en-US.json
//   CRAMP_SKILL_ID    the skill id the server expects
//   CRAMP_API_URL     the Alexa API stub (Settings API time zone), e.g. http://127.0.0.1:PORT
//   CRAMP_LOCALE      optional, defaults to en-US
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { VirtualAlexa } = require("virtual-alexa");
const { InteractionModel } = require("virtual-alexa/lib/src/model/InteractionModel");
const { RemoteSkillInteractor } = require("virtual-alexa/lib/src/impl/RemoteSkillInteractor");
// The matcher virtual-alexa's utter() uses, from virtual-alexa's own dependency.
const { Utterance } = createRequire(require.resolve("virtual-alexa"))("virtual-core");

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/test_simulator.py`);
  }
  return value;
}

export const SKILL_URL = env("CRAMP_SKILL_URL");
export const MODEL_PATH = env("CRAMP_MODEL_PATH");
export const SKILL_ID = env("CRAMP_SKILL_ID");
export const API_URL = env("CRAMP_API_URL");
export const LOCALE = env("CRAMP_LOCALE", "en-US");
export const DEVICE_ID = "amzn1.ask.device.E2E-DEVICE";

// AMAZON.TIME slots; virtual-alexa sends them as spoken words, real Alexa as "21:30".
const TIME_SLOTS = new Set(["time", "timeTwo", "timeThree", "fromTime"]);
// AMAZON.DURATION slots; virtual-alexa sends the words, real Alexa ISO 8601 ("P1W").
const DURATION_SLOTS = new Set(["duration"]);

// The model is read once: parsing it for every new user is most of a short test's time. It holds
// no conversation state (sessions and dialogs live in each VirtualAlexa's own context).
let sharedModel = null;

// What a device with a screen lists in context.System.device.supportedInterfaces.
export const SCREEN = { "Alexa.Presentation.APL": { runtime: { maxVersion: "2024.3" } } };

/**
 * A new device and user (so a new session and no reminders), talking to the skill. With
 * `{ screen: true }` the device says it shows APL, as an Echo Show does.
 */
export function newAlexa({ screen = false } = {}) {
  sharedModel ??= InteractionModel.fromFile(MODEL_PATH);
  const interactor = new RemoteSkillInteractor(SKILL_URL);
  const alexa = new VirtualAlexa(interactor, sharedModel, LOCALE, SKILL_ID);
  interactor._alexa = alexa;  // as VirtualAlexa.Builder().create() does
  // A device id makes requests carry deviceId, apiEndpoint and apiAccessToken.
  alexa.context().device().setID(DEVICE_ID);
  alexa.filter((request) => {
    // The Settings API (time zone) is the local stub, never Amazon.
    request.context.System.apiEndpoint = API_URL;
    if (screen) {
      const device = request.context.System.device;
      device.supportedInterfaces = { ...(device.supportedInterfaces ?? {}), ...SCREEN };
    }
    const slots = request.request.intent?.slots ?? {};
    for (const [name, slot] of Object.entries(slots)) {
      if (TIME_SLOTS.has(name) && slot.value) {
        slot.value = alexaTime(slot.value);
      }
      if (DURATION_SLOTS.has(name) && slot.value) {
        slot.value = alexaDuration(slot.value);
      }
    }
  });
  return alexa;
}

const HOURS = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6,
  seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
};
const UNITS = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9 };
const TEENS = {
  ten: 10, eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15,
  sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
};
const TENS = { twenty: 20, thirty: 30, forty: 40, fifty: 50 };
// What Alexa sends for times of day that are not a clock time.
const VAGUE = { morning: "MO", afternoon: "AF", evening: "EV", night: "NI", tonight: "NI" };

/**
 * Spoken time words -> the value real Alexa puts in an AMAZON.TIME slot ("21:30", "EV").
 * Handles "nine thirty pm", "ten p m", "eight fifteen a.m.", "nine o'clock", "noon",
 * "midnight", "evening". Anything else throws, so a test cannot pass on a value Alexa would
 * never send.
 */
export function alexaTime(spoken) {
  const text = spoken.toLowerCase().replace(/\./g, " ").replace(/\s+/g, " ").trim();
  if (/^\d{1,2}:\d{2}$/.test(text) || /^(mo|af|ev|ni)$/.test(text)) {
    return spoken; // already in Alexa's format (virtual-alexa reuses slot objects in a dialog)
  }
  if (text === "noon") return "12:00";
  if (text === "midnight") return "00:00";
  if (VAGUE[text.replace(/^(in the|at|this) /, "")]) return VAGUE[text.replace(/^(in the|at|this) /, "")];

  let words = text.split(" ");
  let half = null;
  const last = words.slice(-2).join(" ");
  if (["p m", "a m"].includes(last)) {
    half = last[0];
    words = words.slice(0, -2);
  } else if (["pm", "am"].includes(words.at(-1))) {
    half = words.at(-1)[0];
    words = words.slice(0, -1);
  }
  const [hourWord, ...rest] = words;
  let hour = HOURS[hourWord];
  if (hour === undefined) throw new Error(`cannot read the time "${spoken}"`);

  let minute = 0;
  const minuteWords = rest.join(" ");
  if (minuteWords === "" || minuteWords === "o'clock") {
    minute = 0;
  } else if (rest[0] === "oh" && rest.length === 2 && UNITS[rest[1]]) {
    minute = UNITS[rest[1]];
  } else if (rest.length === 1 && TEENS[rest[0]] !== undefined) {
    minute = TEENS[rest[0]];
  } else if (rest.length === 1 && TENS[rest[0]] !== undefined) {
    minute = TENS[rest[0]];
  } else if (rest.length === 2 && TENS[rest[0]] !== undefined && UNITS[rest[1]]) {
    minute = TENS[rest[0]] + UNITS[rest[1]];
  } else {
    throw new Error(`cannot read the minutes in "${spoken}"`);
  }
  if (half === "p" && hour < 12) hour += 12;
  if (half === "a" && hour === 12) hour = 0;
  return `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
}

const COUNTS = { a: 1, an: 1, one: 1, ...UNITS, ten: 10, twelve: 12, fourteen: 14, twenty: 20, thirty: 30 };
const DURATION_UNITS = { day: "D", week: "W", month: "M", year: "Y", hour: "H", minute: "M" };

/**
 * Spoken durations -> the ISO 8601 value real Alexa puts in an AMAZON.DURATION slot ("P1W"):
 * "a week", "two weeks", "ten days", "a month", "three hours", "a fortnight". Anything else throws.
 */
export function alexaDuration(spoken) {
  const text = spoken.toLowerCase().replace(/^for /, "").trim();
  if (/^P(T?\d+[YMWDHS])+$/.test(spoken)) return spoken; // already Alexa's (a reused slot object)
  if (text === "a fortnight") return "P2W";
  const match = /^(\w+) (day|week|month|year|hour|minute)s?$/.exec(text);
  const count = match && COUNTS[match[1]];
  if (!count) throw new Error(`cannot read the duration "${spoken}"`);
  const unit = DURATION_UNITS[match[2]];
  return ["hour", "minute"].includes(match[2]) ? `PT${count}${unit}` : `P${count}${unit}`;
}

// The slot each device's skill asked for with Dialog.ElicitSlot on the last turn.
const eliciting = new WeakMap();
const MODEL_JSON = JSON.parse(readFileSync(MODEL_PATH, "utf8"));

/**
 * Match an answer to an elicited slot against that slot's own samples ("{time}", "at {time}"), as
 * Alexa does while a skill elicits a slot; virtual-alexa only knows intent samples. A time slot
 * only takes words that are a time, so "stop" still goes to AMAZON.StopIntent.
 */
function matchElicited({ intent, slot }, text) {
  const language = MODEL_JSON.interactionModel.languageModel;
  const declared = language.intents.find((i) => i.name === intent);
  const samples = declared?.slots?.find((s) => s.name === slot)?.samples ?? [];
  if (samples.length === 0) return null;
  const only = InteractionModel.fromJSON({
    intents: [{ name: intent, slots: declared.slots, samples }],
    types: language.types,
  });
  const utterance = new Utterance(only, text);
  if (!utterance.matched()) return null;
  const slots = utterance.toJSON();
  if (TIME_SLOTS.has(slot) || DURATION_SLOTS.has(slot)) {
    try {
      (TIME_SLOTS.has(slot) ? alexaTime : alexaDuration)(slots[slot]);
    } catch {
      return null;
    }
  }
  return { intent, slots };
}

/**
 * Say something to the skill, the way virtual-alexa's utter() does: the words are matched against
 * the interaction model's samples (and slot values resolved to ids); no match throws.
 *
 * Two differences from utter(): an answer to a slot the skill elicited is matched against that
 * slot's samples first (what Alexa does), and phrases containing "ask", "tell", "open" or
 * "launch" are not turned into a LaunchRequest (utter() does that to "tell me about restless
 * legs"); use launch() to open the skill.
 */
export async function say(alexa, text) {
  const pending = eliciting.get(alexa);
  let matched = pending ? matchElicited(pending, text) : null;
  if (!matched) {
    const utterance = new Utterance(alexa.context().interactionModel(), text);
    if (!utterance.matched()) {
      throw new Unmatched(`"${text}" matches no sample utterance in ${MODEL_PATH}`);
    }
    matched = { intent: utterance.intent(), slots: utterance.toJSON() };
  }
  const slots = splitDaysFromTimes(alexa, matched.intent, matched.slots);
  const response = await alexa.request().intent(matched.intent).slots(slots).send();
  return turn(alexa, response, matched);
}

/** What say() throws when the simulator finds no sample for the words (virtual-alexa's refusal). */
export class Unmatched extends Error {}

/**
 * A time slot next to a day slot ("at {time} {days}") is one greedy wildcard to virtual-alexa:
 * "nine thirty pm every night" all lands in the time. Alexa's NLU fills both, so do that here: when
 * a time's words end (or consist) of a day phrase the model knows, and the intent has an empty day
 * slot, the day phrase moves there. Only model values move, so nothing Alexa could not hear is made.
 */
function splitDaysFromTimes(alexa, intentName, slots) {
  const model = alexa.context().interactionModel();
  const declared = model.intentSchema.intent(intentName)?.slots ?? [];
  const daySlots = declared.filter((s) => s.type === "DayType").map((s) => s.name);
  if (daySlots.length === 0) return slots;
  const dayTypes = model.slotTypes.slotType("DayType");
  const out = { ...slots };
  for (const [name, value] of Object.entries(slots)) {
    if (!TIME_SLOTS.has(name) || !value || readsAsTime(value)) continue;
    const words = value.trim().split(/\s+/);
    for (let k = 0; k < words.length; k++) {
      const time = words.slice(0, k).join(" ");
      const day = words.slice(k).join(" ");
      const free = daySlots.find((d) => !out[d]);
      if (free && dayTypes.matchAll(day).length > 0 && (time === "" || readsAsTime(time))) {
        out[free] = day;
        if (time) out[name] = time;
        else delete out[name];
        break;
      }
    }
  }
  return out;
}

function readsAsTime(words) {
  try {
    alexaTime(words);
    return true;
  } catch {
    return false;
  }
}

export async function launch(alexa) {
  return turn(alexa, await alexa.launch(), { intent: "LaunchRequest", slots: {} });
}

function turn(alexa, response, { intent, slots }) {
  const out = response.response;
  const elicit = (out.directives ?? []).find((d) => d.type === "Dialog.ElicitSlot");
  if (elicit && out.shouldEndSession !== true) {
    eliciting.set(alexa, { intent: elicit.updatedIntent?.name ?? intent, slot: elicit.slotToElicit });
  } else {
    eliciting.delete(alexa);
  }
  if (!(out.directives ?? []).some((d) => d.type.startsWith("Dialog."))) {
    // The dialog is over. Alexa starts the next one afresh; virtual-alexa would keep its slots.
    alexa.dialogManager().reset();
  }
  return {
    intent,
    slots,
    raw: response,
    speech: out.outputSpeech?.ssml ?? "",
    reprompt: out.reprompt?.outputSpeech?.ssml ?? null,
    ended: out.shouldEndSession === true,
    directives: out.directives ?? [],
    card: out.card ?? null,
    attributes: response.sessionAttributes ?? {},
  };
}

/** Lower-case words of the SSML, tags removed, entities decoded: for "mentions X" checks. */
export function words(ssml) {
  return ssml
    .replace(/<[^>]+>/g, " ")
    .replace(/&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

/** Seconds of each <break> in the SSML. */
export function breaks(ssml) {
  return [...ssml.matchAll(/<break\s+time="(\d+(?:\.\d+)?)(ms|s)"\s*\/>/g)].map(
    ([, amount, unit]) => Number(amount) / (unit === "ms" ? 1000 : 1),
  );
}

/** Checks every turn must pass: valid SSML, within Alexa's limits, a reprompt if the session stays open. */
export function assertWellFormed(t, what) {
  assert.match(t.speech, /^<speak>[\s\S]*<\/speak>$/, `${what}: speech is not an SSML document`);
  assert.ok(words(t.speech).length > 0, `${what}: says nothing`);
  assert.ok(t.speech.length <= 8000, `${what}: speech over Alexa's 8,000 characters`);
  for (const seconds of breaks(t.speech)) {
    assert.ok(seconds <= 10, `${what}: a ${seconds} s break is over Alexa's 10 s limit`);
  }
  if (!t.ended) {
    assert.ok(t.reprompt && words(t.reprompt).length > 0, `${what}: open session without a reprompt`);
  }
}

/**
 * Say `text`, check it resolved to `intent` (and slot ids, if given), and that the answer is well formed.
 * Returns the turn for content checks.
 */
export async function ask(alexa, text, intent, slotIds = {}) {
  const t = await say(alexa, text);
  assert.equal(t.intent, intent, `"${text}" resolved to ${t.intent}, expected ${intent}`);
  for (const [slot, id] of Object.entries(slotIds)) {
    assert.equal(resolvedId(alexa, intent, slot, t.slots[slot]), id, `"${text}": slot ${slot}`);
  }
  assertWellFormed(t, `"${text}"`);
  return t;
}

/** The slot value id the model resolves a spoken value to (what Alexa sends as ER_SUCCESS_MATCH). */
export function resolvedId(alexa, intent, slot, spoken) {
  const model = alexa.context().interactionModel();
  const slotType = model.intentSchema.intent(intent).slotForName(slot)?.type;
  const match = slotType && spoken ? model.slotTypes.slotType(slotType)?.matchAll(spoken)[0] : undefined;
  return match?.enumeratedValue?.id;
}

/** Assert the spoken words mention every item; items are strings or RegExps. */
export function assertMentions(ssml, items, what) {
  const text = words(ssml);
  for (const item of items) {
    if (item instanceof RegExp) {
      assert.match(text, item, `${what}: expected ${item} in: ${text}`);
    } else {
      assert.ok(text.includes(item.toLowerCase()), `${what}: expected "${item}" in: ${text}`);
    }
  }
}
