// The API client: CSRF header on unsafe calls of a session, none before sign-in.
import { test } from "node:test";
import assert from "node:assert/strict";

const calls = [];
globalThis.location = { pathname: "/login", search: "", assign: (url) => calls.push(["assign", url]) };
globalThis.fetch = async (path, init) => {
  calls.push([init.method, path, init.headers]);
  const answers = {
    "/api/auth/login": [200, { user: { username: "ann" }, csrf_token: "tok-1" }],
    "/api/auth/me": [401, { detail: "not signed in" }],
    "/api/incidents/i-1/comments": [201, { author: "ann" }],
    "/api/approvals/a-1/approve": [403, { detail: "you asked for this action" }],
  };
  const [status, data] = answers[path] ?? [404, { detail: "no such route" }];
  return { status, ok: status < 400, json: async () => data };
};
const api = await import("../../src/vigil/console/web/static/js/api.js");

test("signing in sends no CSRF token and never asks /api/auth/me", async () => {
  calls.length = 0;
  const answer = await api.post("/api/auth/login", { username: "ann", password: "x" });
  assert.equal(answer.csrf_token, "tok-1");
  assert.equal(calls.length, 1);
  assert.equal(calls[0][2]["X-CSRF-Token"], undefined);
});

test("after sign-in, unsafe calls carry the token; reads do not", async () => {
  api.setCsrfToken("tok-1");
  calls.length = 0;
  await api.post("/api/incidents/i-1/comments", { text: "hi" });
  assert.equal(calls[0][2]["X-CSRF-Token"], "tok-1");
  await api.get("/api/nothing").catch(() => null);
  assert.equal(calls[1][2]["X-CSRF-Token"], undefined);
});

test("a refusal becomes an ApiError with the server's words", async () => {
  api.setCsrfToken("tok-1");
  await assert.rejects(api.post("/api/approvals/a-1/approve", { reason: "ok" }),
    (error) => error instanceof api.ApiError && error.status === 403 && error.message === "you asked for this action");
});

test("a session that ended sends the user to sign in, except on the sign-in page", async () => {
  api.setCsrfToken(null);
  calls.length = 0;
  globalThis.location.pathname = "/queue";
  globalThis.location.search = "?store=031";
  await assert.rejects(api.post("/api/incidents/i-1/comments", { text: "x" }));
  assert.deepEqual(calls.find((c) => c[0] === "assign"), ["assign", "/login?next=%2Fqueue%3Fstore%3D031"]);
  globalThis.location.pathname = "/login";
  calls.length = 0;
  await assert.rejects(api.get("/api/auth/me"));
  assert.equal(calls.find((c) => c[0] === "assign"), undefined);
});
