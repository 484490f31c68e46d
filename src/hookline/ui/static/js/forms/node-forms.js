/** Which form edits which node type; a type without a form of its own is edited as JSON. */

import * as condition from "./condition-form.js";
import * as end from "./end-form.js";
import * as json from "./json-form.js";
import * as multiConditions from "./multi-conditions-form.js";
import * as response from "./response-form.js";

const FORMS = {
  condition,
  "multi-conditions": multiConditions,
  response,
  end,
};

/** The form module of a node type: {form(config, ctx) → {element, read()}, defaultConfig()}. */
export function formFor(type) {
  return FORMS[type] ?? json;
}
