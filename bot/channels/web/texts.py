"""The page's own few words (the conversation's words come from the catalogs).

The quick-exit label is the catalogs' `common.exit`. What has no translation
here is shown in English.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Languages written right to left: the page is laid out right to left for them.
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur", "ps", "ckb"})

KEYS = ("write", "send", "have_code", "code", "go", "keep_code", "resumed", "bad_code", "away", "ended", "starting")

WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "write": "Write here",
        "send": "Send",
        "have_code": "I have a code",
        "code": "Your code",
        "go": "Continue",
        "keep_code": "To come back to this conversation later, write this code down somewhere safe. "
        "It will not be shown again.",
        "resumed": "Welcome back. Here is what was written to you.",
        "bad_code": "This code does not work. Check it and try again.",
        "away": "The connection was lost. Trying again…",
        "ended": "This chat has ended. Reload the page to start again.",
        "starting": "Starting…",
    },
    "fr": {
        "write": "Écrivez ici",
        "send": "Envoyer",
        "have_code": "J'ai un code",
        "code": "Votre code",
        "go": "Continuer",
        "keep_code": "Pour revenir plus tard à cette conversation, notez ce code dans un endroit sûr. "
        "Il ne sera plus affiché.",
        "resumed": "Bon retour. Voici ce qui vous a été écrit.",
        "bad_code": "Ce code ne fonctionne pas. Vérifiez-le et réessayez.",
        "away": "La connexion est perdue. Nouvel essai…",
        "ended": "Cette conversation est terminée. Rechargez la page pour recommencer.",
        "starting": "Démarrage…",
    },
    "ar": {
        "write": "اكتب هنا",
        "send": "إرسال",
        "have_code": "لدي رمز",
        "code": "رمزك",
        "go": "متابعة",
        "keep_code": "للعودة إلى هذه المحادثة لاحقًا، اكتب هذا الرمز في مكان آمن. لن يظهر مرة أخرى.",
        "resumed": "مرحبًا بعودتك. هذا ما كُتب لك.",
        "bad_code": "هذا الرمز لا يعمل. تحقق منه وحاول مرة أخرى.",
        "away": "انقطع الاتصال. جارٍ المحاولة مرة أخرى…",
        "ended": "انتهت هذه المحادثة. أعد تحميل الصفحة للبدء من جديد.",
        "starting": "جارٍ البدء…",
    },
    "fa": {
        "write": "اینجا بنویسید",
        "send": "ارسال",
        "have_code": "کد دارم",
        "code": "کد شما",
        "go": "ادامه",
        "keep_code": "برای بازگشت به این گفتگو در آینده، این کد را در جای امنی یادداشت کنید. دیگر نمایش داده نمی‌شود.",
        "resumed": "خوش آمدید. این‌ها پیام‌هایی است که برای شما نوشته شده است.",
        "bad_code": "این کد کار نمی‌کند. آن را بررسی کنید و دوباره امتحان کنید.",
        "away": "اتصال قطع شد. در حال تلاش دوباره…",
        "ended": "این گفتگو به پایان رسید. برای شروع دوباره صفحه را بارگذاری کنید.",
        "starting": "در حال شروع…",
    },
    "es": {
        "write": "Escriba aquí",
        "send": "Enviar",
        "have_code": "Tengo un código",
        "code": "Su código",
        "go": "Continuar",
        "keep_code": "Para volver más tarde a esta conversación, anote este código en un lugar seguro. "
        "No se volverá a mostrar.",
        "resumed": "Bienvenido de nuevo. Esto es lo que se le escribió.",
        "bad_code": "Este código no funciona. Compruébelo e inténtelo de nuevo.",
        "away": "Se perdió la conexión. Intentándolo de nuevo…",
        "ended": "Esta conversación ha terminado. Recargue la página para empezar de nuevo.",
        "starting": "Iniciando…",
    },
}


def words(language: str | None) -> dict[str, str]:
    chosen = WORDS.get(language or "", {})
    return {key: chosen.get(key, WORDS["en"][key]) for key in KEYS}


def direction(language: str | None) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
