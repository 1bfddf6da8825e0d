// Two dictionaries with the same keys (a test checks it); 简体中文 is the default. The choice is a
// display preference of this browser only.
import { createContext, type ReactNode, useContext, useMemo, useState } from 'react';
import { applyLang, dictionaries, type Lang, type MessageKey } from './lang.ts';

export { dictionaries, type Lang, type MessageKey } from './lang.ts';

const STORAGE_KEY = 'hongyan.lang';

interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** A label for a key that may not be in the dictionary (an API field or status): else the key. */
  tr(key: string): string;
}

/** A field the dictionaries do not name yet reads as words ("field.bind_mode" → "bind mode"). */
function fallbackLabel(key: string): string {
  return key.replace(/^[a-z]+\./, '').replace(/_/g, ' ');
}

const I18nContext = createContext<I18n | null>(null);

function initialLang(): Lang {
  const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  return saved === 'en-US' ? 'en-US' : 'zh-CN';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const value = useMemo<I18n>(() => {
    // Before anything renders in this language: dates, error texts and antd's date pickers follow it.
    applyLang(lang);
    const dict = dictionaries[lang];
    const t = (key: MessageKey, vars?: Record<string, string | number>) =>
      dict[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars?.[name] ?? `{${name}}`));
    return {
      lang,
      setLang(next) {
        localStorage.setItem(STORAGE_KEY, next);
        setLangState(next);
      },
      t,
      tr: (key) => (Object.hasOwn(dict, key) ? dict[key as MessageKey] : fallbackLabel(key)),
    };
  }, [lang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}
