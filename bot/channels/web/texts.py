"""The page's own few words (the conversation's words come from the catalogs).

The quick-exit label is the catalogs' `common.exit`. Every language of the
catalogs has its words here (a test checks it), drafts like the catalogs
themselves until a native speaker reviews them; a language without them would
be shown in English.
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
    "bg": {
        "write": "Пишете тук",
        "send": "Изпращане",
        "have_code": "Имам код",
        "code": "Вашият код",
        "go": "Продължете",
        "keep_code": "За да се върнете по-късно към този разговор, запишете този код на сигурно място. "
        "Той няма да бъде показан отново.",
        "resumed": "Добре дошли отново. Ето какво Ви беше написано.",
        "bad_code": "Този код не работи. Проверете го и опитайте отново.",
        "away": "Връзката прекъсна. Нов опит…",
        "ended": "Този разговор приключи. Презаредете страницата, за да започнете отначало.",
        "starting": "Стартиране…",
    },
    "bn": {
        "write": "এখানে লিখুন",
        "send": "পাঠান",
        "have_code": "আমার একটি কোড আছে",
        "code": "আপনার কোড",
        "go": "চালিয়ে যান",
        "keep_code": "পরে এই কথোপকথনে ফিরে আসতে, এই কোডটি কোনো নিরাপদ জায়গায় লিখে রাখুন। এটি আর দেখানো হবে না।",
        "resumed": "আবার স্বাগতম। আপনাকে যা লেখা হয়েছে তা এখানে।",
        "bad_code": "এই কোডটি কাজ করছে না। যাচাই করে আবার চেষ্টা করুন।",
        "away": "সংযোগ বিচ্ছিন্ন হয়েছে। আবার চেষ্টা করা হচ্ছে…",
        "ended": "এই কথোপকথন শেষ হয়েছে। আবার শুরু করতে পৃষ্ঠাটি পুনরায় লোড করুন।",
        "starting": "শুরু হচ্ছে…",
    },
    "pt": {
        "write": "Escreva aqui",
        "send": "Enviar",
        "have_code": "Tenho um código",
        "code": "O seu código",
        "go": "Continuar",
        "keep_code": "Para voltar a esta conversa mais tarde, anote este código num lugar seguro. "
        "Não voltará a ser mostrado.",
        "resumed": "Bem-vindo de volta. Eis o que lhe foi escrito.",
        "bad_code": "Este código não funciona. Verifique-o e tente novamente.",
        "away": "A ligação foi perdida. A tentar novamente…",
        "ended": "Esta conversa terminou. Recarregue a página para começar de novo.",
        "starting": "A iniciar…",
    },
    "ro": {
        "write": "Scrieți aici",
        "send": "Trimiteți",
        "have_code": "Am un cod",
        "code": "Codul dumneavoastră",
        "go": "Continuați",
        "keep_code": "Pentru a reveni mai târziu la această conversație, notați acest cod într-un loc sigur. "
        "Nu va mai fi afișat.",
        "resumed": "Bine ați revenit. Iată ce vi s-a scris.",
        "bad_code": "Acest cod nu funcționează. Verificați-l și încercați din nou.",
        "away": "Conexiunea s-a întrerupt. Se încearcă din nou…",
        "ended": "Această conversație s-a încheiat. Reîncărcați pagina pentru a începe din nou.",
        "starting": "Se pornește…",
    },
    "ru": {
        "write": "Напишите здесь",
        "send": "Отправить",
        "have_code": "У меня есть код",
        "code": "Ваш код",
        "go": "Продолжить",
        "keep_code": "Чтобы вернуться к этому разговору позже, запишите этот код в надёжном месте. "
        "Он больше не будет показан.",
        "resumed": "С возвращением. Вот что Вам написали.",
        "bad_code": "Этот код не работает. Проверьте его и попробуйте ещё раз.",
        "away": "Соединение потеряно. Повторная попытка…",
        "ended": "Этот разговор завершён. Перезагрузите страницу, чтобы начать заново.",
        "starting": "Запуск…",
    },
    "ti": {
        "write": "ኣብዚ ጸሓፉ",
        "send": "ስደዱ",
        "have_code": "ኮድ ኣለኒ",
        "code": "ኮድኩም",
        "go": "ቀጽሉ",
        "keep_code": "ድሒርኩም ናብዚ ዝርርብ ንምምላስ፣ ነዚ ኮድ ኣብ ውሑስ ቦታ ጽሓፍዎ። ደጊሙ ኣይርአን እዩ።",
        "resumed": "እንቋዕ ብደሓን ተመለስኩም። እዚ ዝተጻሕፈልኩም እዩ።",
        "bad_code": "እዚ ኮድ ኣይሰርሕን እዩ። ኣረጋግጽዎ እሞ እንደገና ፈትኑ።",
        "away": "ርክብ ተቛሪጹ። እንደገና ይፍተን ኣሎ…",
        "ended": "እዚ ዝርርብ ተወዲኡ። እንደገና ንምጅማር ነቲ ገጽ ኣሐድስዎ።",
        "starting": "ይጅምር ኣሎ…",
    },
    "tl": {
        "write": "Sumulat po rito",
        "send": "Ipadala",
        "have_code": "May code ako",
        "code": "Ang inyong code",
        "go": "Magpatuloy",
        "keep_code": "Para makabalik sa usapang ito mamaya, pakisulat po ang code na ito sa isang ligtas na lugar. "
        "Hindi na po ito ipapakita muli.",
        "resumed": "Maligayang pagbabalik po. Narito ang mga isinulat para sa inyo.",
        "bad_code": "Hindi gumagana ang code na ito. Pakisuri po ito at subukang muli.",
        "away": "Nawala ang koneksyon. Sinusubukang muli…",
        "ended": "Tapos na po ang usapang ito. I-reload ang pahina para magsimulang muli.",
        "starting": "Nagsisimula…",
    },
    "uk": {
        "write": "Напишіть тут",
        "send": "Надіслати",
        "have_code": "У мене є код",
        "code": "Ваш код",
        "go": "Продовжити",
        "keep_code": "Щоб повернутися до цієї розмови пізніше, запишіть цей код у надійному місці. "
        "Його більше не буде показано.",
        "resumed": "З поверненням. Ось що Вам написали.",
        "bad_code": "Цей код не працює. Перевірте його та спробуйте ще раз.",
        "away": "З'єднання втрачено. Повторна спроба…",
        "ended": "Цю розмову завершено. Перезавантажте сторінку, щоб почати знову.",
        "starting": "Запуск…",
    },
    "zh": {
        "write": "在这里输入",
        "send": "发送",
        "have_code": "我有一个代码",
        "code": "您的代码",
        "go": "继续",
        "keep_code": "如需以后回到这段对话，请把这个代码记在安全的地方。它不会再次显示。",
        "resumed": "欢迎回来。以下是写给您的内容。",
        "bad_code": "此代码无效。请检查后重试。",
        "away": "连接已断开。正在重试…",
        "ended": "本次对话已结束。请刷新页面重新开始。",
        "starting": "正在启动…",
    },
}


def words(language: str | None) -> dict[str, str]:
    chosen = WORDS.get(language or "", {})
    return {key: chosen.get(key, WORDS["en"][key]) for key in KEYS}


def direction(language: str | None) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
