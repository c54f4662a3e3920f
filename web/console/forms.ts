/**
 * Form errors where the user looks: the API's message next to the field it names (from the
 * field names the API uses in its messages), otherwise above the form's button.
 */
import { ApiError } from './api.js';

export function clearErrors(form: HTMLFormElement): void {
  for (const p of form.querySelectorAll('.field-error, .form-error')) p.textContent = '';
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/**
 * Shows `error` in `form`. `fields` maps words the API's message may start with (`label`,
 * `expiresIn`) to control ids. Returns the element that now shows the message.
 */
export function showError(form: HTMLFormElement, error: unknown, fields: Readonly<Record<string, string>>): void {
  const message = error instanceof ApiError ? error.message : 'Something went wrong; nothing was changed.';
  const lower = message.toLowerCase();
  for (const [word, id] of Object.entries(fields)) {
    if (!new RegExp(`(^|[^a-z])${word.toLowerCase()}([^a-z]|$)`).test(lower)) continue;
    const target = form.querySelector<HTMLElement>(`#${id}-error`);
    const control = form.querySelector<HTMLElement>(`#${id}`);
    if (target === null || control === null) continue;
    target.textContent = message;
    control.setAttribute('aria-invalid', 'true');
    control.focus();
    return;
  }
  const general = form.querySelector<HTMLElement>('.form-error');
  if (general !== null) {
    general.textContent = message;
    general.focus();
  }
}
