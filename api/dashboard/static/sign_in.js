// The sign-in page: a pasted key is tried on the API before it is kept for the session.

import { authorized, showNotice, signIn, takeNotice, takeReturnTo } from "./session.js";

const REJECTED =
  "That key was not accepted: it is wrong or was revoked. Create one with `bnlab keys create --name NAME`.";

async function tryKey(event) {
  event.preventDefault();
  const key = document.getElementById("key").value.trim();
  const response = await fetch("/v1/jobs?limit=1", authorized({}, key));
  if (response.status === 401) return showNotice(REJECTED);
  if (!response.ok) return showNotice(`The server could not check the key (${response.status}); try again.`);
  signIn(key);
  location.assign(takeReturnTo());
}

document.addEventListener("DOMContentLoaded", () => {
  showNotice(takeNotice());
  document.getElementById("sign-in-form").addEventListener("submit", (event) =>
    tryKey(event).catch((error) => showNotice(`The server did not answer: ${error.message}`)),
  );
});
