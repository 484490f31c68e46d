/** The trigger drawer's Security section: Basic authentication, the signature check, API keys and the address allow-list. */

import { field, h, switchedFields, uid } from "../dom.js";
import { secretField, secretList } from "./secret-list.js";
import { signatureFields } from "./signature-fields.js";

const DEFAULT_API_KEY_HEADER = "X-Api-Key";

/**
 * The Security section over a trigger `config`. Returns {element, value(), explain(details)}:
 * value() gives the config fields it owns; explain() words the server's problems for this section.
 * A switched-off check is saved as null (Basic authentication as false, as before).
 */
export function securitySection(config, { editable }) {
  const basic = basicAuthPart(config.basicAuthentication, editable);
  const signature = signatureFields(config.signature ?? null, { editable });
  const apiKey = apiKeyPart(config.apiKey, editable);
  const allowFrom = allowListPart(config.allowFrom, editable);
  const title = h("h3", { id: uid("security") }, "Security");
  return {
    element: h(
      "section",
      { class: "security", "aria-labelledby": title.id },
      title,
      h("p", { class: "hint" }, "Each check that is on must pass, or the request is refused and nothing runs. Secrets are write-only: a stored one shows as set."),
      part("Basic authentication", basic.element),
      part("Signature", signature.element),
      part("API key", apiKey.element),
      part("Allowed addresses", allowFrom.element),
    ),
    /** The fields to save; one that is off is left out unless the config had it (then it is switched off). */
    value() {
      const chosen = { signature: signature.value(), apiKey: apiKey.value(), allowFrom: allowFrom.value() };
      for (const [name, value] of Object.entries(chosen)) if (value === null && !(name in config)) delete chosen[name];
      return { basicAuthentication: basic.value(), ...chosen };
    },
    explain: (details) => details.map((detail) => allowFrom.explain(detail)),
  };
}

/** One part of the section as a labelled region. */
function part(title, content) {
  const heading = h("h4", { id: uid("part") }, title);
  return h("section", { class: "security-part", "aria-labelledby": heading.id }, heading, content);
}

/** The Basic authentication switch with its username and write-only password. */
function basicAuthPart(setting, editable) {
  const on = Boolean(setting);
  const username = h("input", { type: "text", value: setting?.username ?? "", disabled: !editable, autocomplete: "off" });
  const password = secretField("Password", on ? setting.password : undefined, {
    editable,
    where: "config.basicAuthentication.password",
  });
  const fields = h(
    "div",
    { class: "auth-fields" },
    field("Username", username, { where: "config.basicAuthentication.username" }),
    password.element,
  );
  const { element, input } = switchedFields("Require Basic authentication", on, {
    fields,
    hint: "When on, a request without these credentials gets 401.",
    where: "config.basicAuthentication",
    editable,
    focus: username,
  });
  return {
    element,
    value: () => (input.checked ? { username: username.value, password: password.value() } : false),
  };
}

/** The API key switch: the header that carries a key, and the write-only keys. */
function apiKeyPart(setting, editable) {
  const on = Boolean(setting);
  const header = h("input", { type: "text", class: "code", value: setting?.header ?? DEFAULT_API_KEY_HEADER, disabled: !editable, autocomplete: "off", spellcheck: "false" });
  const keys = secretList(on ? setting.keys : [], { editable, noun: "API key", where: "config.apiKey.keys", adding: "Add a key" });
  const keysTitle = h("span", { class: "group-title", id: uid("group") }, "Keys");
  const fields = h(
    "div",
    { class: "api-key-fields" },
    field("Key header", header, { where: "config.apiKey.header" }),
    h("div", { class: "field", role: "group", "aria-labelledby": keysTitle.id }, keysTitle, keys.element, h("p", { class: "hint" }, "Any one of them passes; compared in constant time.")),
  );
  const { element, input } = switchedFields("Require an API key", on, {
    fields,
    hint: "When on, a request without one of these keys in its header gets 401.",
    where: "config.apiKey",
    editable,
    focus: header,
  });
  return {
    element,
    value: () => (input.checked ? { header: header.value.trim(), keys: keys.values() } : null),
  };
}

/** The allow-list switch and its addresses, one IP address or CIDR network per line. */
function allowListPart(setting, editable) {
  const on = Array.isArray(setting);
  const lines = h("textarea", { rows: 3, class: "code", disabled: !editable, spellcheck: "false", placeholder: "203.0.113.0/24\n2001:db8::/32" }, on ? setting.join("\n") : "");
  const fields = field("Addresses", lines, {
    where: "config.allowFrom",
    hint: "One IP address or CIDR network per line, IPv4 or IPv6. With none listed, every request is refused. Behind a proxy, see HOOKLINE_TRUSTED_PROXIES.",
  });
  // The switch names no config path: a problem with the list belongs beside the box of addresses.
  const { element, input } = switchedFields("Allow only listed addresses", on, {
    fields,
    hint: "When on, a request from any other address gets 403.",
    editable,
    focus: lines,
  });
  const entries = () => lines.value.split("\n").map((line) => line.trim()).filter(Boolean);
  return {
    element,
    value: () => (input.checked ? entries() : null),
    /** A problem with the n-th address names its line, since the lines share one box. */
    explain(detail) {
      const found = /^config\.allowFrom\[(\d+)\]$/.exec(detail.where ?? "");
      if (!found) return detail;
      const index = Number(found[1]);
      return { ...detail, message: `Line ${index + 1} (${entries()[index] ?? ""}) ${detail.message}` };
    },
  };
}
