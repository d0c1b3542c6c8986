// The API key of this browser tab (session storage only), and every call to the /v1 API made with it.

const KEY = "bnlab.key";
const NOTICE = "bnlab.notice";
const RETURN_TO = "bnlab.returnTo";

export class ApiError extends Error {
  // An answer that was not a success, with the API's own message (what to change).
  constructor(status, body) {
    super(body?.error?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export function signedIn() {
  return sessionStorage.getItem(KEY) !== null;
}

export function signIn(key) {
  sessionStorage.setItem(KEY, key);
}

export function signOut(notice) {
  // Forget the key; `notice` is shown on the sign-in page (never carried in the URL).
  sessionStorage.removeItem(KEY);
  if (notice) sessionStorage.setItem(NOTICE, notice);
  location.assign("/ui/sign-in");
}

export function requireKey() {
  // Send a visitor without a key to sign in, coming back here afterwards.
  if (signedIn()) return true;
  sessionStorage.setItem(RETURN_TO, location.pathname + location.search);
  location.assign("/ui/sign-in");
  return false;
}

export function takeReturnTo() {
  const target = sessionStorage.getItem(RETURN_TO) ?? "/ui/";
  sessionStorage.removeItem(RETURN_TO);
  return target.startsWith("/ui/") ? target : "/ui/";
}

export function takeNotice() {
  const notice = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return notice;
}

export function authorized(init = {}, key = sessionStorage.getItem(KEY)) {
  // Fetch options carrying the key in the Authorization header, the only place it ever travels.
  return { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${key}` } };
}

export async function call(path, init = {}) {
  // One API call: the parsed JSON (null for 204); a rejected key ends the session.
  const response = await fetch(path, authorized(init));
  if (response.status === 401) {
    signOut("Your API key is no longer accepted (it was revoked?). Sign in with a valid key.");
    throw new ApiError(401, null);
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function blobUrl(path) {
  // A file of the API (plot, report page, CSV) as a local URL: links cannot send the key, fetch can.
  const response = await fetch(path, authorized());
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  return URL.createObjectURL(await response.blob());
}

export function showNotice(text) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  notice.hidden = !text;
}

export function startPage(run) {
  // Every signed-in page: the sign-out button, then `run`, its failures shown instead of thrown away.
  if (!requireKey()) return;
  const button = document.getElementById("sign-out");
  button.hidden = false;
  button.addEventListener("click", () => signOut("You signed out."));
  document.addEventListener("DOMContentLoaded", () => run().catch((error) => showNotice(error.message)));
}
