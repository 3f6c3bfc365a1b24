// The nightly habit and the screens, driven by what a person says: the routine done to the end,
// "how am I doing?", and what a device with a screen is shown at each step and answer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ask, assertMentions, newAlexa } from "./harness.mjs";

const APL = "Alexa.Presentation.APL.RenderDocument";

function screens(t) {
  return t.directives.filter((d) => d.type.startsWith("Alexa.Presentation.APL"));
}

function onlyScreen(t, what) {
  const found = screens(t);
  assert.equal(found.length, 1, `${what}: one screen`);
  assert.equal(found[0].type, APL, what);
  return found[0];
}

async function wholeRoutine(alexa) {
  const turns = [await ask(alexa, "start my routine", "StartRoutineIntent")];
  while (typeof turns.at(-1).attributes.routine_step === "number") {
    turns.push(await ask(alexa, "next", "AMAZON.NextIntent"));
  }
  return turns;
}

test("a finished routine is kept, and how am I doing says so", async () => {
  const alexa = newAlexa();
  const before = await ask(alexa, "how am I doing", "ProgressIntent");
  assertMentions(before.speech, ["haven't finished the bedtime routine", "tonight's routine"], "none yet");

  const turns = await wholeRoutine(alexa);
  assertMentions(turns.at(-1).speech, ["routine done"], "the end");
  for (const t of turns) {
    assert.deepEqual(screens(t), [], "a device without a screen gets no APL");
  }
  const after = await ask(alexa, "how have I been getting on", "ProgressIntent");
  assertMentions(after.speech, ["one night", "done already"], "tonight counted");
  assert.equal(after.card?.title, "Your last two weeks");
});

test("on a screen, each step shows the stretch with its countdown", async () => {
  const alexa = newAlexa({ screen: true });
  const turns = await wholeRoutine(alexa);
  assert.equal(turns.length, 7);
  for (const [i, t] of turns.entries()) {
    const shown = onlyScreen(t, `step ${i + 1}`);
    assert.equal(shown.token, "cramp-coach.step");
    const step = shown.datasources.step;
    assert.equal(step.progress, `Step ${i + 1} of 7`);
    assertMentions(t.speech, [step.instructions], `step ${i + 1} shows what is said`);
    if (step.seconds) {
      assert.ok(step.holdStartsAfterMs > 0, `step ${i + 1}: the countdown waits for the words`);
      assertMentions(t.speech, [`${step.seconds} seconds`], `step ${i + 1}`);
    }
    assert.ok(t.card || i > 0, "the first step still has its card");
  }
});

test("on a screen, an answer shows its title and key points, and the habit its two weeks", async () => {
  const alexa = newAlexa({ screen: true });
  const answer = await ask(alexa, "what causes leg cramps at night", "CausesIntent");
  const topic = onlyScreen(answer, "causes").datasources.topic;
  assert.equal(topic.title, "What causes night leg cramps");
  assert.ok(topic.points.length >= 2);
  assert.ok(answer.card, "the card stays");

  await wholeRoutine(alexa);
  const progress = await ask(alexa, "what's my streak", "ProgressIntent");
  const habit = onlyScreen(progress, "progress").datasources.habit;
  assert.equal(habit.nights.length, 14);
  assert.deepEqual(
    habit.nights.map((n) => n.done),
    [...Array(13).fill(false), true],
    "tonight is the one done",
  );
});
