// Says a list of phrasings to the skill through virtual-alexa, one fresh user each, and prints one
// JSON line per phrasing: what the simulator matched and what the skill answered. It judges
// nothing; tests/test_simulator.py does (and runs it, with the same environment as the tests).
//
//   CRAMP_PHRASINGS   a JSON file: [{id, say, needs?}, ...]; "needs": "routine" means the phrase is
//                     said inside the guided routine, so the routine is started first; "finished"
//                     means the user has done the whole routine tonight before saying it.
import { readFileSync } from "node:fs";

import { Unmatched, newAlexa, say } from "./harness.mjs";

const PHRASINGS = process.env.CRAMP_PHRASINGS;
if (!PHRASINGS) {
  throw new Error("CRAMP_PHRASINGS is not set: run this through tests/test_simulator.py");
}

for (const entry of JSON.parse(readFileSync(PHRASINGS, "utf8"))) {
  const alexa = newAlexa();
  const line = { id: entry.id, say: entry.say };
  try {
    if (entry.needs === "routine") {
      // Started by intent, not by words: the phrase under test is the one said inside it.
      await alexa.intend("StartRoutineIntent");
    }
    if (entry.needs === "finished") {
      // Next until the routine ends (the skill stops tracking the step), at most 20 times.
      let step = await alexa.intend("StartRoutineIntent");
      for (let i = 0; i < 20 && typeof step.sessionAttributes?.routine_step === "number"; i += 1) {
        step = await alexa.intend("AMAZON.NextIntent");
      }
    }
    const t = await say(alexa, entry.say);
    Object.assign(line, {
      matched: true,
      intent: t.intent,
      slots: t.slots,
      speech: t.speech,
      reprompt: t.reprompt,
      ended: t.ended,
      directives: t.directives.map((d) => d.type),
    });
  } catch (error) {
    // "unmatched": the simulator found no sample; "failed": anything else went wrong.
    line.matched = false;
    line.failure = error instanceof Unmatched ? "unmatched" : "failed";
    line.error = String(error.message ?? error);
  }
  console.log(JSON.stringify(line));
}
