// The Jinja globals transformers gives chat templates (raise_exception, strftime_now, range, literals),
// set up here so a template's raise_exception can be told apart from a rendering bug. Engine host.
import { Environment } from '@huggingface/jinja';

/** Thrown by a template's raise_exception(message). */
export class TemplateRaised extends Error {
  override readonly name = 'TemplateRaised';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/** Python strftime for the directives chat templates use (C locale: "26 Jul 2024"). */
export function strftime(date: Date, format: string): string {
  const pad2 = (n: number): string => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHMSjAa%]/g, (token) => {
    switch (token) {
      case '%Y': return String(date.getFullYear());
      case '%m': return pad2(date.getMonth() + 1);
      case '%d': return pad2(date.getDate());
      case '%b': return MONTHS[date.getMonth()];
      case '%B': return MONTHS_LONG[date.getMonth()];
      case '%H': return pad2(date.getHours());
      case '%M': return pad2(date.getMinutes());
      case '%S': return pad2(date.getSeconds());
      case '%A': return ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][date.getDay()];
      case '%a': return ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getDay()];
      case '%%': return '%';
      default: return token;
    }
  });
}

/** Python's range(). */
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/** A fresh environment with the globals and then `variables` declared in it. */
export function templateEnvironment(variables: Readonly<Record<string, unknown>>, now: () => Date): Environment {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range,
    strftime_now: (format: unknown) => strftime(now(), String(format)),
    raise_exception: (message: unknown) => {
      throw new TemplateRaised(String(message));
    },
  };
  for (const [key, value] of Object.entries({ ...globals, ...variables })) env.set(key, value);
  return env;
}
