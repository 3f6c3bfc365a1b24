// Reminders by voice: set (after a yes to the time and days), list, move, cancel, skip, pause and
// resume, through the interaction model. Time and duration slot values are rewritten to Alexa's
// formats ("21:30", "P1W") by the harness's request filter.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ask, assertMentions, newAlexa } from "./harness.mjs";

/** Say yes to "Should I remind you to ... at ..., ...?"; the answer to the yes. */
async function agree(alexa, question) {
  assertMentions(question.speech, ["should i remind you"], "asks before setting");
  return ask(alexa, "yes", "AMAZON.YesIntent");
}

test("set a bedtime stretch reminder in one sentence, then list and move it", async () => {
  const alexa = newAlexa();
  const question = await ask(alexa, "remind me every night at nine thirty pm to stretch", "SetReminderIntent", {
    kind: "stretch",
    days: "every_day",
  });
  assertMentions(question.speech, ["bedtime stretches", "9:30 pm", "every night"], "the time and days, before a yes");
  const set = await agree(alexa, question);
  assertMentions(set.speech, ["done", "bedtime stretches", "9:30 pm", "every night"], "set: read back in the user's own words");

  const list = await ask(alexa, "what are my reminders", "ListRemindersIntent");
  assertMentions(list.speech, ["one reminder", "bedtime stretch", "9:30 pm"], "list");

  const moved = await ask(alexa, "move my stretch reminder to ten pm", "MoveReminderIntent", { kind: "stretch" });
  assertMentions(moved.speech, ["bedtime stretch", "10 pm"], "move");

  const after = await ask(alexa, "list my reminders", "ListRemindersIntent");
  assertMentions(after.speech, ["10 pm"], "list after move");
  assert.ok(!after.speech.includes("9:30"), "the old time is gone");
});

test("the skill asks for what is missing: kind, then time", async () => {
  const alexa = newAlexa();
  const start = await ask(alexa, "set a reminder", "SetReminderIntent");
  assertMentions(start.speech, ["stretches", "water"], "asks which kind");
  assert.ok(
    start.directives.some((d) => d.type === "Dialog.ElicitSlot" && d.slotToElicit === "kind"),
    "elicits the kind slot",
  );

  const kind = await ask(alexa, "water", "SetReminderIntent", { kind: "water" });
  assertMentions(kind.speech, ["what time", "drink some water"], "asks the time");
  assert.ok(kind.directives.some((d) => d.type === "Dialog.ElicitSlot" && d.slotToElicit === "time"));

  const asked = await ask(alexa, "eight pm", "SetReminderIntent");
  assertMentions(asked.speech, ["drink some water", "8 pm", "every day"], "set from the dialog");
  const done = await agree(alexa, asked);
  assertMentions(done.speech, ["done", "8 pm"], "set after the yes");
});

test("two times in one reminder, on weekdays", async () => {
  const alexa = newAlexa();
  const set = await ask(alexa, "remind me to drink water at seven pm and nine pm on weekdays", "SetReminderIntent", {
    kind: "water",
    days: "weekdays",
  });
  assertMentions(set.speech, ["drink some water", "7 pm", "9 pm", "weekdays"], "two times");
  await agree(alexa, set);
});

test("a vague time gets a question, not a guess", async () => {
  const alexa = newAlexa();
  const vague = await ask(alexa, "remind me to stretch at night", "SetReminderIntent", { kind: "stretch" });
  assertMentions(vague.speech, ["exact time"], "vague time");
  const done = await ask(alexa, "at nine fifteen pm", "SetReminderIntent");
  assertMentions(done.speech, ["9:15 pm"], "time after the question");
  const no = await ask(alexa, "no", "AMAZON.NoIntent");
  assertMentions(no.speech, ["haven't set it"], "a no sets nothing");
  const list = await ask(alexa, "what are my reminders", "ListRemindersIntent");
  assertMentions(list.speech, ["don't have any reminders"], "nothing was stored");
});

test("cancel one reminder with a yes, keep all with a no", async () => {
  const alexa = newAlexa();
  await agree(alexa, await ask(alexa, "remind me to stretch at ten pm", "SetReminderIntent", { kind: "stretch" }));
  await agree(alexa, await ask(alexa, "remind me to drink water at eight pm", "SetReminderIntent", { kind: "water" }));

  const confirm = await ask(alexa, "cancel my water reminder", "CancelReminderIntent", { kind: "water" });
  assertMentions(confirm.speech, ["cancel your water reminder", "8 pm"], "asks first");
  const yes = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertMentions(yes.speech, ["water reminder is cancelled"], "cancelled");

  const all = await ask(alexa, "cancel all my reminders", "CancelAllRemindersIntent");
  assertMentions(all.speech, ["are you sure"], "asks before cancelling everything");
  const no = await ask(alexa, "no", "AMAZON.NoIntent");
  assertMentions(no.speech, ["kept your reminders"], "kept");

  const list = await ask(alexa, "what reminders do I have", "ListRemindersIntent");
  assertMentions(list.speech, ["one reminder", "bedtime stretch", "10 pm"], "the stretch one is left");
});

// virtual-alexa matches samples as patterns and, with two free-form slots side by side, can split
// the words wrongly ("at nine thirty pm every night" all lands in {time}); Alexa's NLU does not.
// Where that happens the same request is said in an order the pattern matcher reads correctly.
test("the seven phrasings from the reminders brief, in order", async () => {
  const alexa = newAlexa();
  const stretch = await ask(alexa, "remind me every night at nine thirty pm to stretch", "SetReminderIntent", {
    kind: "stretch",
    days: "every_day",
  });
  assertMentions(stretch.speech, ["9:30 pm", "every night"], "stretch every night");
  await agree(alexa, stretch);

  const water = await ask(alexa, "remind me to drink water at ten am and two pm and six pm", "SetReminderIntent", {
    kind: "water",
  });
  assertMentions(water.speech, ["10 am, 2 pm, and 6 pm"], "water three times");
  await agree(alexa, water);

  const weekdays = await ask(alexa, "remind me to stretch on weekdays at ten", "SetReminderIntent", {
    kind: "stretch",
    days: "weekdays",
  });
  assertMentions(weekdays.speech, ["10 pm", "weekdays"], "a bare ten is evening for a bedtime stretch");
  await agree(alexa, weekdays);

  const list = await ask(alexa, "what reminders do I have", "ListRemindersIntent");
  assertMentions(list.speech, ["5 reminders", "9:30 pm", "10 am, 2 pm, and 6 pm"], "list");

  const moved = await ask(alexa, "move my stretch reminder to ten pm", "MoveReminderIntent", { kind: "stretch" });
  // Two stretch reminders exist (every night and weekdays), so the skill asks which one.
  assertMentions(moved.speech, ["which one should i move"], "ambiguous move asks which");

  const cancel = await ask(alexa, "cancel my water reminder", "CancelReminderIntent", { kind: "water" });
  assertMentions(cancel.speech, ["cancel your water reminder"], "asks before deleting");
  const yes = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertMentions(yes.speech, ["3 water reminders are cancelled"], "cancelled after yes");

  const all = await ask(alexa, "cancel all reminders", "CancelAllRemindersIntent");
  assertMentions(all.speech, ["all 2 of your reminders", "are you sure"], "asks before deleting all");
  const sure = await ask(alexa, "yes", "AMAZON.YesIntent");
  assertMentions(sure.speech, ["all your reminders are cancelled"], "all cancelled");
});

test("skip tonight's reminder, pause for a week, resume: and the list says what is paused or skipped", async () => {
  const alexa = newAlexa();
  await agree(alexa, await ask(alexa, "remind me to stretch at nine thirty pm", "SetReminderIntent", { kind: "stretch" }));

  const skip = await ask(alexa, "skip tonight's reminder", "SkipReminderIntent");
  // Whether it is "tonight" or "tomorrow" depends on when the test runs; the reminder does not.
  assertMentions(skip.speech, ["skip your bedtime stretch reminder", "9:30 pm", "carry on"], "skip");
  const skipped = await ask(alexa, "what are my reminders", "ListRemindersIntent");
  assertMentions(skipped.speech, ["bedtime stretch: 9:30 pm, every day, skipping"], "the list says what is skipped");

  const pause = await ask(alexa, "pause my reminders for a week", "PauseRemindersIntent");
  assertMentions(pause.speech, ["paused your reminders until", "start again by themselves"], "pause");
  const paused = await ask(alexa, "list my reminders", "ListRemindersIntent");
  assertMentions(paused.speech, ["paused until"], "the list says until when");

  const resume = await ask(alexa, "resume my reminders", "ResumeRemindersIntent");
  assertMentions(resume.speech, ["back on", "9:30 pm"], "resume");
  const after = await ask(alexa, "list my reminders", "ListRemindersIntent");
  assert.ok(!/paused|skipping/.test(after.speech), "nothing paused or skipped after resuming");
});

test("pause without a length asks for one, in Alexa's duration format", async () => {
  const alexa = newAlexa();
  await agree(alexa, await ask(alexa, "remind me to drink water at three pm", "SetReminderIntent", { kind: "water" }));
  const ask_length = await ask(alexa, "pause my reminders", "PauseRemindersIntent");
  assert.ok(ask_length.directives.some((d) => d.type === "Dialog.ElicitSlot" && d.slotToElicit === "duration"));
  const paused = await ask(alexa, "for two weeks", "PauseRemindersIntent");
  assertMentions(paused.speech, ["paused your reminders until"], "paused after the answer");
  const water = await ask(alexa, "skip my water reminder tonight", "SkipReminderIntent", { kind: "water" });
  assertMentions(water.speech, ["nothing to skip"], "a paused reminder has no next one to skip");
});
