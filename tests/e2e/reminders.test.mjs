// Reminders by voice: set, list, move and cancel, through the interaction model.
// Time slot values are rewritten to Alexa's "21:30" format by the harness's request filter.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ask, assertMentions, newAlexa } from "./harness.mjs";

test("set a bedtime stretch reminder in one sentence, then list and move it", async () => {
  const alexa = newAlexa();
  const set = await ask(alexa, "remind me every night at nine thirty pm to stretch", "SetReminderIntent", {
    kind: "stretch",
    days: "every_day",
  });
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

  const done = await ask(alexa, "eight pm", "SetReminderIntent");
  assertMentions(done.speech, ["drink some water", "8 pm", "every day"], "set from the dialog");
});

test("two times in one reminder, on weekdays", async () => {
  const alexa = newAlexa();
  const set = await ask(alexa, "remind me to drink water at seven pm and nine pm on weekdays", "SetReminderIntent", {
    kind: "water",
    days: "weekdays",
  });
  assertMentions(set.speech, ["drink some water", "7 pm", "9 pm", "weekdays"], "two times");
});

test("a vague time gets a question, not a guess", async () => {
  const alexa = newAlexa();
  const vague = await ask(alexa, "remind me to stretch at night", "SetReminderIntent", { kind: "stretch" });
  assertMentions(vague.speech, ["exact time"], "vague time");
  const done = await ask(alexa, "at nine fifteen pm", "SetReminderIntent");
  assertMentions(done.speech, ["9:15 pm"], "time after the question");
});

test("cancel one reminder with a yes, keep all with a no", async () => {
  const alexa = newAlexa();
  await ask(alexa, "remind me to stretch at ten pm", "SetReminderIntent", { kind: "stretch" });
  await ask(alexa, "remind me to drink water at eight pm", "SetReminderIntent", { kind: "water" });

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

  const water = await ask(alexa, "remind me to drink water at ten am and two pm and six pm", "SetReminderIntent", {
    kind: "water",
  });
  assertMentions(water.speech, ["10 am, 2 pm, and 6 pm"], "water three times");

  const weekdays = await ask(alexa, "remind me to stretch on weekdays at ten", "SetReminderIntent", {
    kind: "stretch",
    days: "weekdays",
  });
  assertMentions(weekdays.speech, ["10 pm", "weekdays"], "a bare ten is evening for a bedtime stretch");

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
