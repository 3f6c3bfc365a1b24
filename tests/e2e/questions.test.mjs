// Questions about night cramps, asked the way people ask them. Each phrasing must resolve through
// the interaction model to the right intent and slot value id, and the answer must say the
// things that matter for that topic.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LOCALE, ask, assertMentions, newAlexa, words } from "./harness.mjs";

// [phrasing, intent, slot ids, what the answer must mention]
const TOPICS = {
  "what a night cramp is": [
    ["what is a night cramp", "WhatIsCrampIntent", {}, ["sudden tightening", "calf"]],
    ["what's a charley horse", "WhatIsCrampIntent", {}, ["muscle", "rest or sleep"]],
    ["tell me about leg cramps", "WhatIsCrampIntent", {}, ["calf, foot or thigh"]],
    ["what happens during a leg cramp", "WhatIsCrampIntent", {}, ["can't control"]],
  ],
  "restless legs": [
    ["is it restless legs", "RestlessLegsIntent", {}, ["restless legs", "urge to move", "crawling"]],
    ["what's the difference between cramps and restless legs", "RestlessLegsIntent", {}, ["painful tightening"]],
    ["I have an urge to move my legs", "RestlessLegsIntent", {}, ["isn't pain"]],
    ["tell me about restless legs", "RestlessLegsIntent", {}, ["restless legs syndrome"]],
  ],
  "causes": [
    ["what causes leg cramps at night", "CausesIntent", {}, ["dehydration", "pregnancy", "circulation"]],
    ["why do my legs cramp at night", "CausesIntent", {}, ["tired or overworked muscles", "some medicines"]],
    ["what triggers night cramps", "CausesIntent", {}, ["aging"]],
    ["can tired muscles cause leg cramps", "CausesIntent", { cause: "fatigue" }, ["tired muscles", "workout"]],
    ["could not drinking enough water be causing my cramps", "CausesIntent", { cause: "dehydration" }, ["dehydration", "sweating"]],
    ["are my cramps from low magnesium", "CausesIntent", { cause: "electrolytes" }, ["magnesium", "potassium"]],
    ["is sitting all day causing my cramps", "CausesIntent", { cause: "sedentary" }, ["circulation", "office workers"]],
    ["can medications cause cramps", "CausesIntent", { cause: "medications" }, ["water pills", "statins", "don't stop a medicine"]],
    ["does pregnancy cause leg cramps", "CausesIntent", { cause: "pregnancy" }, ["trimesters", "delivery"]],
    ["can health conditions cause cramps", "CausesIntent", { cause: "conditions" }, ["diabetes", "kidney disease"]],
    ["is it because of my age", "CausesIntent", { cause: "aging" }, ["muscle mass", "flexibility"]],
    ["can poor circulation cause night cramps", "CausesIntent", { cause: "circulation" }, ["blood flow", "nerve"]],
  ],
  "medications": [
    ["which medicines cause leg cramps", "MedicationIntent", {}, ["water pills", "statins", "albuterol", "don't stop a medicine"]],
    ["can water pills cause cramps", "MedicationIntent", { medication: "diuretics" }, ["potassium and magnesium", /new prescription, talk to your doctor/]],
    ["I'm on blood pressure pills", "MedicationIntent", { medication: "diuretics" }, ["high blood pressure"]],
    ["does cholesterol medicine cause leg cramps", "MedicationIntent", { medication: "statins" }, ["statins", "muscle pain"]],
    ["can the pill cause cramps", "MedicationIntent", { medication: "birth_control" }, ["hormone", "fluid balance"]],
    ["can albuterol give me cramps", "MedicationIntent", { medication: "asthma" }, ["albuterol", "potassium"]],
  ],
  "health conditions": [
    ["what diseases cause leg cramps", "ConditionIntent", {}, ["diabetes", "peripheral artery disease", "thyroid", "kidney", "parkinson's"]],
    ["I have diabetes and I get cramps", "ConditionIntent", { condition: "diabetes" }, ["neuropathy", "see a doctor"]],
    ["can poor blood flow cause leg cramps", "ConditionIntent", { condition: "pad" }, ["peripheral artery disease", "blood flow to the legs"]],
    ["are my cramps a sign of thyroid problems", "ConditionIntent", { condition: "thyroid" }, ["metabolism"]],
    ["does kidney disease cause cramps", "ConditionIntent", { condition: "kidney" }, ["electrolytes"]],
    ["can Parkinson's cause cramps", "ConditionIntent", { condition: "neurological" }, ["nerve signals"]],
    ["can MS cause leg cramps", "ConditionIntent", { condition: "neurological" }, ["ms, parkinson's and als"]],
  ],
  "prevention": [
    ["how can I prevent night cramps", "PreventionIntent", {}, ["stretch before bed", "drink water", "supportive shoes", "warm"]],
    ["how do I stop getting leg cramps", "PreventionIntent", {}, ["magnesium, potassium and calcium"]],
    ["give me tips to prevent leg cramps", "PreventionIntent", {}, ["move during the day"]],
  ],
  "foods": [
    ["what foods help with cramps", "FoodsIntent", {}, ["bananas", "nuts", "leafy greens"]],
    ["do bananas help with cramps", "FoodsIntent", {}, ["potassium"]],
    ["which foods are high in magnesium", "FoodsIntent", { mineral: "magnesium" }, ["nuts and seeds", "spinach"]],
    ["what foods have potassium", "FoodsIntent", { mineral: "potassium" }, ["bananas", "potatoes", "avocado"]],
    ["foods rich in calcium", "FoodsIntent", { mineral: "calcium" }, ["dairy", "leafy greens"]],
    ["how do I get more salt from my diet", "FoodsIntent", { mineral: "sodium" }, ["sodium", "sweating"]],
  ],
  "supplements": [
    ["should I take supplements for cramps", "SupplementsIntent", {}, ["magnesium", /doctor before/]],
    ["should I take magnesium", "SupplementsIntent", { supplement: "magnesium" }, ["glycinate", "200 to 400", /doctor before/]],
    ["does magnesium citrate help with cramps", "SupplementsIntent", { supplement: "magnesium" }, ["bedtime", /doctor before/]],
    ["is potassium good for cramps", "SupplementsIntent", { supplement: "potassium" }, ["food", /doctor before/]],
    ["should I try vitamin D", "SupplementsIntent", { supplement: "calcium" }, ["vitamin d", /doctor before/]],
  ],
  "a cramp right now": [
    ["I have a cramp right now", "ReliefIntent", {}, ["stretch", "pull your toes", "massage", "warm"]],
    ["my calf is cramping", "ReliefIntent", {}, ["toes up toward you"]],
    ["how do I get rid of a cramp", "ReliefIntent", {}, ["warm compress"]],
    ["I woke up with a cramp", "ReliefIntent", {}, ["gently stretch"]],
  ],
  "shoes and activity": [
    ["what shoes should I wear", "ShoesActivityIntent", {}, ["arch support", "supportive"]],
    ["does exercise help leg cramps", "ShoesActivityIntent", {}, ["gradually", "don't overdo it"]],
    [LOCALE === "en-US" || LOCALE === "en-CA" ? "should I wear sneakers" : "should I wear trainers", "ShoesActivityIntent", {}, ["footwear"]],
  ],
  "seeing a doctor": [
    ["when should I see a doctor", "DoctorIntent", {}, ["frequent or severe", "blood clot"]],
    ["when should I call my doctor", "DoctorIntent", {}, ["numbness or tingling"]],
  ],
  "are night cramps dangerous": [
    ["are night cramps dangerous", "ReassuranceIntent", {}, ["harmless", "see a doctor", "red, hot or swollen"]],
    ["is it normal to get leg cramps", "ReassuranceIntent", {}, ["harmless", "frequent or severe"]],
    ["should I be worried about night cramps", "ReassuranceIntent", {}, ["nothing to worry about", "medical help now"]],
  ],
  "stretches": [
    ["what stretches help with leg cramps", "StretchIntent", {}, ["wall calf stretch", "seated forward bend", "towel stretch"]],
    ["how do I do the wall stretch", "StretchIntent", { stretch: "wall_calf" }, ["heel down", "30 seconds"]],
    ["explain the hamstring stretch", "StretchIntent", { stretch: "forward_bend" }, ["toes", "don't force it"]],
    ["how long should I hold the towel stretch", "StretchIntent", { stretch: "towel" }, ["ball of your foot", "20 to 30 seconds"]],
  ],
};

// Warning signs. Red, hot or swollen is urgent: get help now, and the session ends.
const RED_FLAGS = [
  ["my calf is red and swollen", { symptom: "swollen" }, true, ["blood clot", "medical help now"]],
  ["my leg is hot", { symptom: "hot" }, true, ["blood clot", "medical help now"]],
  ["my leg is red", { symptom: "red" }, true, ["blood clot", "call emergency services"]],
  ["there's swelling in my leg", { symptom: "swollen" }, true, ["blood clot", "medical help now"]],
  ["my leg feels weak", { symptom: "weakness" }, false, ["see a doctor soon"]],
  ["I have pins and needles in my foot", { symptom: "numbness" }, false, ["numbness or tingling", "see a doctor soon"]],
  ["I get cramps every night", { symptom: "frequent" }, false, ["several times a week", "see a doctor"]],
  ["my cramps are really bad", { symptom: "severe" }, false, ["see a doctor soon"]],
  ["could this be a blood clot in my calf", {}, false, ["red, hot or swollen", "blood clot", "medical help now"]],
];

export const PHRASINGS = Object.values(TOPICS).flat().length + RED_FLAGS.length;

for (const [topic, rows] of Object.entries(TOPICS)) {
  test(`questions: ${topic}`, async () => {
    const alexa = newAlexa();
    for (const [phrase, intent, slotIds, mentions] of rows) {
      const t = await ask(alexa, phrase, intent, slotIds);
      assertMentions(t.speech, mentions, `"${phrase}"`);
      assert.equal(t.ended, false, `"${phrase}": the session stays open for a follow-up`);
    }
  });
}

test("questions: warning signs", async () => {
  for (const [phrase, slotIds, urgent, mentions] of RED_FLAGS) {
    const alexa = newAlexa();
    const t = await ask(alexa, phrase, "RedFlagIntent", slotIds);
    assertMentions(t.speech, mentions, `"${phrase}"`);
    if (urgent) {
      assert.equal(t.ended, true, `"${phrase}": urgent advice ends the session`);
      assert.ok(!/want to hear more|routine|remind/.test(words(t.speech)), `"${phrase}": no offers after urgent advice`);
    }
  }
});

test("every supplement answer says to ask the doctor first", async () => {
  const alexa = newAlexa();
  for (const phrase of ["should I take a supplement for leg cramps", "should I take potassium", "can I take calcium and vitamin D", "is it safe to take magnesium glycinate"]) {
    const t = await ask(alexa, phrase, "SupplementsIntent");
    // "talk to your doctor before...", not only the general disclaimer a new user hears once
    assertMentions(t.speech, [/doctor before/], `"${phrase}"`);
  }
});

// A whole fixed sentence is never a sample (the models list wording, not sentences): these arrive
// as the free-text question, and the router gives them the same answers.
const IN_OTHER_WORDS = [
  ["could this be a blood clot", ["red, hot or swollen", "blood clot", "medical help now"]],
  ["should I take a supplement", [/doctor before/, "magnesium"]],
  ["give me prevention tips", ["move during the day"]],
  ["should I be worried about my cramps", ["nothing to worry about", "medical help now"]],
  ["my leg's hot and I'm scared", ["blood clot", "medical help now"]],
  ["does a warm compress help", ["warm compress", "massage"]],
];

test("questions in other words reach the same answers", async () => {
  for (const [phrase, mentions] of IN_OTHER_WORDS) {
    const alexa = newAlexa();
    const t = await ask(alexa, phrase, "QuestionIntent");
    assertMentions(t.speech, mentions, `"${phrase}"`);
  }
});

test("a new user hears the not-medical-advice disclaimer once", async () => {
  const alexa = newAlexa();
  const first = await ask(alexa, "what causes night cramps", "CausesIntent");
  assertMentions(first.speech, ["not medical advice"], "first answer");
  const second = await ask(alexa, "what foods help leg cramps", "FoodsIntent");
  assert.ok(!words(second.speech).includes("not medical advice"), "said only once");
});

test("a phrasing outside the model is refused by the simulator, not guessed", async () => {
  const alexa = newAlexa();
  await assert.rejects(() => ask(alexa, "play some jazz", "AMAZON.FallbackIntent"), /matches no sample utterance/);
});

test(`at least 60 question phrasings are covered (${PHRASINGS})`, () => {
  assert.ok(PHRASINGS >= 60, `only ${PHRASINGS} phrasings`);
});
