/* Form behaviour every page shares, declared in the templates by data- attributes instead of
 * inline handlers (the Content-Security-Policy runs no inline script, and no onchange= or
 * onsubmit= either). Listeners sit on the document, so forms swapped in later behave the same.
 *   <select data-autosubmit>         submits its form when changed (filters; <noscript> buttons
 *                                    do the same without JavaScript)
 *   <select data-navigate>           opens the URL of the chosen option (the clinic switcher)
 *   <form data-confirm="question">   submits only when the question is answered OK */

document.addEventListener("change", (e) => {
  const select = e.target;
  if (!(select instanceof HTMLSelectElement)) return;
  if (select.matches("[data-autosubmit]") && select.form) select.form.submit();
  else if (select.matches("[data-navigate]") && select.value) window.location.assign(select.value);
});

document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm !== undefined && !window.confirm(form.dataset.confirm)) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }
}, {capture: true});
