// The console's pages: sign-in, enrolment, and the workplace (queue, case, reply, key).
import { call, setCsrf } from "./http.js";
import { enrol, signIn } from "./passkey.js";
import { startWorkplace } from "./workplace.js";
import { t } from "./texts.js";

function status(text) {
  const node = document.getElementById("status");
  if (node) node.textContent = text;
}

function signinPage() {
  const button = document.getElementById("signin");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status(t("signin.working"));
    try {
      await signIn();
      window.location.assign("/console/");
    } catch (error) {
      status(error.message && error.status ? error.message : t("signin.failed"));
      button.disabled = false;
    }
  });
}

function enrolPage() {
  const button = document.getElementById("enrol");
  const token = document.body.dataset.token;
  button.addEventListener("click", async () => {
    button.disabled = true;
    status(t("signin.working"));
    try {
      await enrol(token);
      status(t("enrol.done"));
      const go = document.getElementById("go");
      go.hidden = false;
      go.focus();
    } catch (error) {
      status(error.status ? error.message : t("signin.failed"));
      button.disabled = false;
    }
  });
}

async function consolePage() {
  let me;
  try {
    me = await call("GET", "/console/api/me");
  } catch {
    window.location.assign("/console/");
    return;
  }
  setCsrf(me.csrf);
  startWorkplace(me);
}

const page = document.body.dataset.page;
if (page === "signin") signinPage();
else if (page === "enrol") enrolPage();
else if (page === "console") consolePage();
