/** The trigger's signature check: a preset picker, and the fields that preset needs (secrets, tolerance, URL, HMAC scheme). */

import { field, h, uid } from "../dom.js";
import { secretList } from "./secret-list.js";

const WHERE = "config.signature";

/**
 * The presets as the server names them (trigger/signatures.py): how each is labelled, the header
 * it reads, and whether its requests carry a timestamp (then a tolerance applies).
 */
export const PRESETS = {
  github: { label: "GitHub", header: "X-Hub-Signature-256" },
  stripe: { label: "Stripe", header: "Stripe-Signature", timed: true },
  slack: { label: "Slack", header: "X-Slack-Signature", timed: true },
  shopify: { label: "Shopify", header: "X-Shopify-Hmac-Sha256" },
  "standard-webhooks": { label: "Standard Webhooks / Svix", header: "webhook-signature", timed: true },
  twilio: { label: "Twilio", header: "X-Twilio-Signature" },
  gitlab: { label: "GitLab (secret token)", header: "X-Gitlab-Token" },
  hmac: { label: "Generic HMAC", header: null },
};

const HMAC_DEFAULTS = { algorithm: "sha256", encoding: "hex", content: "{body}" };

/** The signature part of the Security section over `setting` (null when off). Returns {element, value()}. */
export function signatureFields(setting, { editable }) {
  const current = setting && PRESETS[setting.preset] ? setting : null;
  const preset = h(
    "select",
    { disabled: !editable },
    h("option", { value: "" }, "Off: no signature is checked"),
    Object.entries(PRESETS).map(([name, { label }]) => h("option", { value: name, selected: current?.preset === name }, label)),
  );
  const about = h("p", { class: "hint", id: uid("hint"), "aria-live": "polite" });
  preset.setAttribute("aria-describedby", about.id);
  const text = (value, placeholder) =>
    h("input", { type: "text", class: "code", value: value ?? "", placeholder, disabled: !editable, spellcheck: "false", autocomplete: "off" });
  const choice = (values, chosen) =>
    h("select", { disabled: !editable }, values.map((value) => h("option", { value, selected: value === chosen }, value)));
  const inputs = {
    tolerance: h("input", { type: "number", min: 1, step: 1, value: current?.tolerance ?? "", placeholder: "300", disabled: !editable, class: "short" }),
    url: h("input", { type: "url", value: current?.url ?? "", placeholder: "https://hooks.example.com/api/webhook:trigger/…", disabled: !editable, class: "code", spellcheck: "false" }),
    algorithm: choice(["sha256", "sha1", "sha512"], current?.algorithm ?? HMAC_DEFAULTS.algorithm),
    header: text(current?.header, "X-Signature"),
    prefix: text(current?.prefix, "sha256="),
    encoding: choice(["hex", "base64"], current?.encoding ?? HMAC_DEFAULTS.encoding),
    content: text(current?.content ?? HMAC_DEFAULTS.content, "{timestamp}.{body}"),
    timestampHeader: text(current?.timestampHeader, "X-Timestamp"),
    idHeader: text(current?.idHeader, "X-Webhook-Id"),
  };
  const secrets = secretList(current?.secrets ?? [], {
    editable,
    noun: "Signing secret",
    where: `${WHERE}.secrets`,
    adding: "Add a secret (rotation)",
  });
  const secretsTitle = h("span", { class: "group-title", id: uid("group") }, "Secrets");
  const tolerance = field("Tolerance (seconds)", inputs.tolerance, {
    where: `${WHERE}.tolerance`,
    hint: "How far a signed timestamp may be from now; older or newer requests get 401 signature_expired. Empty: 300.",
  });
  const twilio = field("Public URL Twilio calls", inputs.url, {
    where: `${WHERE}.url`,
    hint: "Twilio signs the URL it calls: write it exactly as set in Twilio's console. Empty: HOOKLINE_PUBLIC_URL plus this path.",
  });
  const hmac = h(
    "div",
    { class: "hmac-fields" },
    field("Algorithm", inputs.algorithm, { where: `${WHERE}.algorithm` }),
    field("Signature header", inputs.header, { where: `${WHERE}.header` }),
    field("Prefix", inputs.prefix, { where: `${WHERE}.prefix`, hint: "Text before the signature in the header, if any." }),
    field("Encoding", inputs.encoding, { where: `${WHERE}.encoding` }),
    h("div", { class: "wide" }, field("Signed content", inputs.content, {
      where: `${WHERE}.content`,
      hint: "A template over {body}, {timestamp}, {id}, {url} and {headers.<name>}.",
    })),
    field("Timestamp header", inputs.timestampHeader, { where: `${WHERE}.timestampHeader`, hint: "Optional; then the tolerance applies." }),
    field("Id header", inputs.idHeader, { where: `${WHERE}.idHeader`, hint: "Optional; fills {id}." }),
  );
  const details = h(
    "div",
    { class: "signature-fields" },
    hmac,
    twilio,
    h("div", { class: "field", role: "group", "aria-labelledby": secretsTitle.id }, secretsTitle, secrets.element, h(
      "p",
      { class: "hint" },
      "Any one of them passes, so a new secret can be added before the sender switches to it. Write {{$env.NAME}} to read one from the server's environment instead (names allowed by HOOKLINE_ENV_ALLOW).",
    )),
    tolerance,
  );

  const show = () => {
    const name = preset.value;
    details.hidden = !name;
    hmac.hidden = name !== "hmac";
    twilio.hidden = name !== "twilio";
    tolerance.hidden = !(PRESETS[name]?.timed || (name === "hmac" && inputs.timestampHeader.value.trim()));
    about.textContent = describe(name);
  };
  preset.addEventListener("change", show);
  inputs.timestampHeader.addEventListener("input", show);
  show();

  const element = h("div", { class: "signature" }, field("Signature check", preset, { where: `${WHERE}.preset` }), about, details);
  return {
    element,
    /** The config.signature to save: null when off, else only the fields the chosen preset reads. */
    value() {
      const name = preset.value;
      if (!name) return null;
      const chosen = { preset: name, secrets: secrets.values() };
      if (name === "hmac") Object.assign(chosen, hmacValue(inputs));
      if (name === "twilio" && inputs.url.value.trim()) chosen.url = inputs.url.value.trim();
      if (!tolerance.hidden && inputs.tolerance.value.trim() !== "") chosen.tolerance = Number(inputs.tolerance.value);
      return chosen;
    },
  };
}

/** The generic scheme's fields, leaving out the optional ones left empty. */
function hmacValue(inputs) {
  const chosen = { algorithm: inputs.algorithm.value, header: inputs.header.value.trim(), encoding: inputs.encoding.value };
  for (const name of ["prefix", "content", "timestampHeader", "idHeader"]) {
    const typed = name === "prefix" ? inputs[name].value : inputs[name].value.trim();
    if (typed !== "") chosen[name] = typed;
  }
  return chosen;
}

/** One sentence on what the chosen preset checks. */
function describe(name) {
  if (!name) return "Senders such as GitHub, Stripe, Slack, Shopify and Twilio sign each request; pick one to refuse unsigned or forged requests with 401.";
  if (name === "gitlab") return "Checks the X-Gitlab-Token header against the secret token, in constant time.";
  if (name === "hmac") return "Checks an HMAC of the content below, made with one of the secrets, in the header you name.";
  const { label, header, timed } = PRESETS[name];
  return `Checks ${label}'s ${header} header over the exact bytes received${timed ? ", and that its timestamp is recent" : ""}.`;
}
