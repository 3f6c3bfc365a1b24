// Opening the skill, help, stop, and yes/no to the skill's offers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ask, assertMentions, assertWellFormed, launch, newAlexa, words } from "./harness.mjs";

test("opening the skill: a welcome for a new user, a shorter one for a returning user", async () => {
  const alexa = newAlexa();
  const first = await launch(alexa);
  assertWellFormed(first, "launch");
  assertMentions(first.speech, ["cramp coach", "walk me through my bedtime stretches", "not medical advice"], "welcome");
  assert.equal(first.ended, false);

  await ask(alexa, "goodbye", "AMAZON.StopIntent");
  const again = await launch(alexa);
  assertMentions(again.speech, ["welcome back"], "returning user");
  assert.ok(!words(again.speech).includes("not medical advice"), "the disclaimer is said once");
});

test("the welcome's own suggestion works", async () => {
  const alexa = newAlexa();
  await launch(alexa);
  const t = await ask(alexa, "walk me through my bedtime stretches", "StartRoutineIntent");
  assertMentions(t.speech, ["step 1."], "routine started");
});

test("help, in several phrasings", async () => {
  const alexa = newAlexa();
  for (const phrase of ["help", "what can you do", "what can I ask", "how does this work"]) {
    const t = await ask(alexa, phrase, "AMAZON.HelpIntent");
    assertMentions(t.speech, ["what causes them", "bedtime routine", "reminder", "not medical advice"], `"${phrase}"`);
    assert.equal(t.ended, false, `"${phrase}" keeps the session open`);
  }
});

test("stop and cancel end the session politely", async () => {
  for (const [phrase, intent] of [
    ["stop", "AMAZON.StopIntent"],
    ["good night", "AMAZON.StopIntent"],
    ["cancel", "AMAZON.CancelIntent"],
    ["never mind", "AMAZON.CancelIntent"],
  ]) {
    const alexa = newAlexa();
    await ask(alexa, "what is a leg cramp", "WhatIsCrampIntent");
    const t = await ask(alexa, phrase, intent);
    assertMentions(t.speech, ["goodbye", "sleep well"], `"${phrase}"`);
    assert.equal(t.ended, true, `"${phrase}" ends the session`);
  }
});

test("yes to 'want to hear more?' gives the rest of the answer", async () => {
  const alexa = newAlexa();
  const answer = await ask(alexa, "what causes night cramps", "CausesIntent");
  assertMentions(answer.speech, ["want to hear more"], "offer");
  const more = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertMentions(more.speech, ["only one of many", "what else would you like to know"], "more");
  assert.equal(more.ended, false);
});

test("no to 'want to hear more?' moves on", async () => {
  const alexa = newAlexa();
  await ask(alexa, "what is restless legs syndrome", "RestlessLegsIntent");
  const no = await ask(alexa, "no thank you", "AMAZON.NoIntent");
  assertMentions(no.speech, ["no problem", "what else"], "no thanks");
  assert.equal(no.ended, false);
});

test("prevention leads to a reminder offer: yes, then yes asks which reminder", async () => {
  const alexa = newAlexa();
  await ask(alexa, "how do I prevent leg cramps", "PreventionIntent");
  const more = await ask(alexa, "yeah", "AMAZON.YesIntent");
  assertMentions(more.speech, ["light blanket", "would you like me to remind you"], "more, then the reminder offer");
  const which = await ask(alexa, "sure", "AMAZON.YesIntent");
  assertMentions(which.speech, ["bedtime stretches, or to drink water"], "reminder dialog started");
});

test("stretches lead to the routine: yes, then yes", async () => {
  const alexa = newAlexa();
  await ask(alexa, "what stretches help with leg cramps", "StretchIntent");
  const more = await ask(alexa, "yeah", "AMAZON.YesIntent");
  assertMentions(more.speech, ["walk you through it"], "more, then the routine offer");
  const routine = await ask(alexa, "sure", "AMAZON.YesIntent");
  assertMentions(routine.speech, ["bedtime routine", "step 1."], "routine started");
});

test("a yes or no with nothing asked gets a gentle steer", async () => {
  const alexa = newAlexa();
  const yes = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertMentions(yes.speech, ["not sure what that's a yes or no to"], "yes");
  const no = await ask(alexa, "no", "AMAZON.NoIntent");
  assertMentions(no.speech, ["not sure what that's a yes or no to"], "no");
});

test("fallback and home", async () => {
  const alexa = newAlexa();
  // virtual-alexa cannot produce AMAZON.FallbackIntent from words; send it as Alexa would.
  const fallback = await alexa.intend("AMAZON.FallbackIntent");
  const speech = fallback.response.outputSpeech.ssml;
  assertMentions(speech, ["don't have an answer for that", "i can tell you about", "bedtime stretches"], "fallback");
  assert.ok(fallback.response.reprompt, "fallback keeps listening");

  const home = await ask(alexa, "go home", "AMAZON.NavigateHomeIntent");
  assertMentions(home.speech, ["back to the start"], "home");
});

test("while the skill waits for a reminder time, 'stop' still stops", async () => {
  const alexa = newAlexa();
  await ask(alexa, "set a reminder", "SetReminderIntent");
  await ask(alexa, "stretch", "SetReminderIntent", { kind: "stretch" });
  const stop = await ask(alexa, "stop", "AMAZON.StopIntent");
  assert.equal(stop.ended, true);
});
