// The page's words in English from the real catalogue, for tests that check
// sentences (the page itself fetches it from the relay). Import it first.
import { readFileSync } from "node:fs";
import { catalogue, setCatalogue } from "../i18n.js";

export const EN = readFileSync(new URL("../../assets/i18n/en.ftl", import.meta.url), "utf8");
export const ES = readFileSync(new URL("../../assets/i18n/es.ftl", import.meta.url), "utf8");

setCatalogue(catalogue("en", { en: EN }));
