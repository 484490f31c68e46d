/** Which form edits which node type; a type without a form of its own is edited as JSON. */

import * as calculation from "./calculation-form.js";
import * as condition from "./condition-form.js";
import * as delay from "./delay-form.js";
import * as end from "./end-form.js";
import * as json from "./json-form.js";
import * as jsonQuery from "./json-query-form.js";
import * as loop from "./loop-form.js";
import * as multiConditions from "./multi-conditions-form.js";
import * as parallel from "./parallel-form.js";
import * as request from "./request-form.js";
import * as response from "./response-form.js";
import * as subflow from "./subflow-form.js";
import * as variable from "./variable-form.js";

const FORMS = {
  condition,
  calculation,
  "multi-conditions": multiConditions,
  response,
  end,
  "json-query": jsonQuery,
  variable,
  request,
  delay,
  loop,
  parallel,
  subflow,
};

/** The form module of a node type: {form(config, ctx) → {element, read()}, defaultConfig()}. */
export function formFor(type) {
  return FORMS[type] ?? json;
}
