// The guided bedtime routine, driven only by what a person says: start, next through every step,
// repeat, go back, start over, pause and resume, and the reminder offer at the end.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ask, assertMentions, breaks, launch, newAlexa, words } from "./harness.mjs";

// What each of the seven steps must say; holds are timed in SSML breaks.
const STEPS = [
  { mentions: ["step 1.", "sips of water"], hold: 0 },
  { mentions: ["step 2.", "wall calf stretch", "right calf"], hold: 30 },
  { mentions: ["step 3.", "left calf"], hold: 30 },
  { mentions: ["step 4.", "seated forward bend", "don't force it"], hold: 30 },
  { mentions: ["step 5.", "towel stretch", "ball of your foot"], hold: 30 },
  { mentions: ["step 6.", "leg flexes"], hold: 30 },
  { mentions: ["step 7.", "light blanket"], hold: 0 },
];

/** A step was spoken: its words, and a hold made of breaks of at most 10 s with a cue near the end. */
function assertStep(t, number, what) {
  const step = STEPS[number - 1];
  assertMentions(t.speech, step.mentions, what);
  const pauses = breaks(t.speech);
  const total = pauses.reduce((a, b) => a + b, 0);
  assert.equal(total, step.hold, `${what}: the hold lasts ${step.hold} s of silence`);
  if (step.hold) {
    assert.ok(pauses.every((s) => s === 10), `${what}: 10 s breaks, got ${pauses}`);
    assertMentions(t.speech, [`${step.hold} seconds`, "ten more seconds", "and relax"], what);
    // The cue comes before the last 10 s of silence.
    assert.match(t.speech, /Ten more seconds\.\s*<break time="10s"\/>\s*And relax/, `${what}: cue placement`);
  }
}

test("the whole routine by voice: start, next through every step, then a nightly reminder", async () => {
  const alexa = newAlexa();
  const start = await ask(alexa, "walk me through my bedtime stretches", "StartRoutineIntent");
  assertMentions(start.speech, ["five-minute bedtime routine", "7 steps", "say next"], "intro");
  assertStep(start, 1, "start");
  assert.ok(start.card, "a card lists the steps");

  // Steps 2 to 7, each moved on with a different phrasing of "next".
  const nexts = ["next", "next stretch", "I'm ready", "next step", "I'm done", "what's next"];
  let end;
  for (const [i, phrase] of nexts.entries()) {
    const number = i + 2;
    end = await ask(alexa, phrase, "AMAZON.NextIntent");
    assertStep(end, number, `"${phrase}" to step ${number}`);
    if (number < STEPS.length) {
      assertMentions(end.speech, ["say next"], `step ${number} ends with what to say`);
    }
  }
  assertMentions(end.speech, ["routine done", "sleep well", "nightly reminder"], "the end");
  assert.equal(end.ended, false);

  const yes = await ask(alexa, "yes please", "AMAZON.YesIntent");
  assertMentions(yes.speech, ["what time", "bedtime stretches"], "asks the reminder time");
  const set = await ask(alexa, "nine thirty pm", "SetReminderIntent");
  assertMentions(set.speech, ["bedtime stretches", "9:30 pm", "every day"], "nightly reminder set");
});

test("repeat, go back, start over", async () => {
  const alexa = newAlexa();
  await ask(alexa, "start my routine", "StartRoutineIntent");
  const two = await ask(alexa, "next", "AMAZON.NextIntent");
  assertStep(two, 2, "next");

  const again = await ask(alexa, "repeat", "AMAZON.RepeatIntent");
  assert.equal(again.speech, two.speech, "repeat says the same step again");
  const sayAgain = await ask(alexa, "say it again", "AMAZON.RepeatIntent");
  assertStep(sayAgain, 2, "say it again");

  const three = await ask(alexa, "next", "AMAZON.NextIntent");
  assertStep(three, 3, "next");
  const back = await ask(alexa, "go back", "AMAZON.PreviousIntent");
  assertStep(back, 2, "go back");
  const first = await ask(alexa, "previous stretch", "AMAZON.PreviousIntent");
  assertStep(first, 1, "previous");
  const stillFirst = await ask(alexa, "go back", "AMAZON.PreviousIntent");
  assertMentions(stillFirst.speech, ["this is the first step"], "nothing before step 1");
  assertStep(stillFirst, 1, "still step 1");

  await ask(alexa, "next", "AMAZON.NextIntent");
  await ask(alexa, "next", "AMAZON.NextIntent");
  const over = await ask(alexa, "start over", "AMAZON.StartOverIntent");
  assertMentions(over.speech, ["from the top"], "start over");
  assertStep(over, 1, "start over");
});

test("pause and resume in the same session", async () => {
  const alexa = newAlexa();
  await ask(alexa, "let's do my stretches", "StartRoutineIntent");
  await ask(alexa, "next", "AMAZON.NextIntent");
  await ask(alexa, "next", "AMAZON.NextIntent");
  const paused = await ask(alexa, "hold on", "AMAZON.PauseIntent");
  assertMentions(paused.speech, ["paused at step 3", "say resume"], "pause");
  assert.deepEqual(breaks(paused.speech), [], "a pause is not a hold");

  const resumed = await ask(alexa, "resume", "AMAZON.ResumeIntent");
  assertMentions(resumed.speech, ["pick up at step 3"], "resume");
  assertStep(resumed, 3, "resume");
  const four = await ask(alexa, "next", "AMAZON.NextIntent");
  assertStep(four, 4, "next after resuming");
});

test("stop mid-routine, then pick up another night", async () => {
  const alexa = newAlexa();
  await ask(alexa, "start the bedtime routine", "StartRoutineIntent");
  await ask(alexa, "next", "AMAZON.NextIntent");
  await ask(alexa, "next", "AMAZON.NextIntent");
  const stop = await ask(alexa, "stop", "AMAZON.StopIntent");
  assertMentions(stop.speech, ["step 3", "sleep well"], "stop keeps the step");
  assert.equal(stop.ended, true);

  // The next night: a new session for the same user and device.
  const open = await launch(alexa);
  assertMentions(open.speech, ["last time you stopped at step 3"], "offered at launch");
  const yes = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertStep(yes, 3, "picked up");
});

test("routine controls when no routine is running offer to start one", async () => {
  const alexa = newAlexa();
  const t = await ask(alexa, "next", "AMAZON.NextIntent");
  assertMentions(t.speech, ["not in the routine", "five-minute bedtime routine"], "offer");
  const yes = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertStep(yes, 1, "started");
  assert.ok(words(yes.speech).includes("say next"));
});

test("no to the reminder offer at the end lets the user sleep", async () => {
  const alexa = newAlexa();
  await ask(alexa, "guide me through the stretches", "StartRoutineIntent");
  let last;
  for (let i = 0; i < STEPS.length - 1; i += 1) {
    last = await ask(alexa, "next", "AMAZON.NextIntent");
  }
  assertMentions(last.speech, ["nightly reminder"], "offer");
  const no = await ask(alexa, "no thanks", "AMAZON.NoIntent");
  assertMentions(no.speech, ["sleep well"], "goodnight");
  assert.equal(no.ended, true);
});

test("what the skill tells people to say, and the obvious variants, all start the routine", async () => {
  for (const phrase of [
    "walk me through my bedtime stretches",
    "start my routine",
    "start the bedtime routine",
    "start a bedtime routine",
    "walk me through my stretches",
    "walk me through a bedtime routine",
    "take me through the stretches",
    "begin my bedtime routine",
  ]) {
    const t = await ask(newAlexa(), phrase, "StartRoutineIntent");
    assertStep(t, 1, `"${phrase}"`);
  }
});
