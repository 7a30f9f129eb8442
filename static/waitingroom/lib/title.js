/* The tab's title says what just happened ("You're being called · Clinic"), so a patient in
 * another tab sees it; the page's own title stays after the dot. */

const base = document.title;

export function titleSays(text) {
  document.title = text ? `${text} · ${base}` : base;
}
