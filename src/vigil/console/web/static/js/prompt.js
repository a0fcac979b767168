// A reason (or value) prompt in a native <dialog>: works with a keyboard and on a phone.

import { byId } from "./dom.js";

/** Ask for text; resolves to the text, or null when cancelled. `required` refuses an empty
 * answer; `danger` marks the confirm button as the destructive choice (reject). */
export function ask({ title, text = "", label = "Reason", confirm = "Confirm", required = true, value = "", danger = false }) {
  const dialog = byId("prompt");
  const input = byId("prompt-input");
  byId("prompt-title").textContent = title;
  byId("prompt-text").textContent = text;
  byId("prompt-label").textContent = label;
  byId("prompt-ok").textContent = confirm;
  byId("prompt-ok").className = danger ? "danger" : "";
  input.value = value;
  input.required = required;
  return new Promise((resolve) => {
    const form = byId("prompt-form");
    const cancel = byId("prompt-cancel");
    const done = (answer) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const answer = input.value.trim();
      if (required && !answer) { input.focus(); return; }
      done(answer);
    };
    const onCancel = (event) => { event.preventDefault(); done(null); };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
}
