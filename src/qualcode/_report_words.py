"""The report's words in French and English: headings, captions, sentences with ``{fields}``.

Private to :mod:`qualcode.report`.  A string may hold soft hyphens (U+00AD) where
a narrow table header may break; the report turns them into Word's own.
"""

WORDS = {
    "fr": {
        "table": "Tableau", "figure": "Figure", "method": "Méthode", "codebook": "Livre de codes",
        "frequencies": "Fréquences", "themes": "Thèmes", "codes": "Codes", "matrices": "Matrices de codage",
        "by_participant": "Codes par participant", "by_role": "Codes par rôle", "hypotheses": "Hypothèses",
        "exemplars": "Citations exemplaires", "theme": "Thème", "code": "Code", "definition": "Définition",
        "segments": "Seg\u00adments", "participants": "Parti\u00adci\u00adpants",
        "documents": "Docu\u00adments", "total": "Total", "percent": "% des segments",
        "mean_score": "Score moyen", "n_codes": "Codes",
        "hypothesis": "Hypo\u00adthèse", "statement": "Énoncé", "verdict": "Verdict",
        "seg_for": "Seg\u00adments en soutien", "part_for": "Parti\u00adci\u00adpants en soutien",
        "seg_against": "Seg\u00adments en contra\u00addic\u00adtion",
        "part_against": "Parti\u00adci\u00adpants en contra\u00addic\u00adtion",
        "for": "Citations à l'appui", "against": "Citations contraires", "none": "(aucune citation)",
        "quote": ("«\u00a0", "\u00a0»"), "decimal": ",", "thousands": "\u00a0", "score": "score",
        "status": {"suggested": "suggestion", "accepted": "accepté"},
        "subtitle": "Livre de codes « {name} », version {version}", "coded_on": " — codage du {date}",
        "corpus": "Le corpus comprend {documents} documents (entretiens), {participants} participants, "
                  "{segments} segments et {words} mots.",
        "book": "Livre de codes « {name} », version {version} : {themes} thèmes, {codes} codes, "
                "{hypotheses} hypothèses.",
        "unit": "Unité de codage : {unit}. Fenêtre de contexte de la similarité : {window} segment(s) "
                "voisin(s) du même tour de parole.",
        "units": {"sentence": "la phrase", "paragraph": "le paragraphe", "turn": "le tour de parole"},
        "coding": "Codage déductif automatique : un code est proposé pour un segment lorsque son score "
                  "atteint le seuil ({threshold}{own}). Le score combine des règles (mots-clés et motifs "
                  "lexico-syntaxiques, négation détectée){similarity} : score = 1 − (1 − règles) × "
                  "(1 − similarité). Comparaison insensible aux accents : {accents}. Analyse linguistique : "
                  "spaCy {pipeline}.",
        "similarity": " et la similarité au plus proche exemple du code (moteur : {backend} ; cosinus "
                      "calibré de {low} → 0 à {high} → 1)",
        "own": " ; seuil propre : {codes}",
        "backends": {"vectors": "vecteurs de mots du modèle spaCy", "tfidf": "TF-IDF sur les lemmes",
                     "sentence-transformers": "modèle sentence-transformers local"},
        "yes": "oui", "no": "non",
        "methods": "Sur les {n} codages retenus, {rule} reposent sur les règles seules, {embedding} sur la "
                   "similarité seule et {hybrid} sur les deux.",
        "run": "Codage réalisé le {date} avec qualcode {version}.",
        "basis": "Base des résultats : {basis}. Codages retenus : {status}{score}.",
        "basis_machine": "suggestions automatiques uniquement (aucune décision humaine pour l'instant)",
        "basis_mixed": "{accepted} codages validés par un humain et {others} autres",
        "statuses": {"all": "tous sauf ceux rejetés par un humain (suggérés ou acceptés)",
                     "accepted": "uniquement ceux acceptés par un humain",
                     "suggested": "uniquement les suggestions automatiques non examinées"},
        "min_score": ", score ≥ {}",
        "plain_machine": "Les codages présentés sont des suggestions automatiques : aucun n'a été validé "
                         "par un humain.",
        "plain_human": "Les codages présentés ont tous été validés par un humain.",
        "plain_mixed": "Les codages présentés mêlent {accepted} codages validés par un humain et {others} "
                       "suggestions automatiques non validées.",
        "plain_empty": "Aucun codage ne correspond à ce filtre.",
        "cap_codebook": "Livre de codes : thèmes, codes, définitions et fréquences",
        "cap_themes": "Fréquence des thèmes (segments codés par au moins un code du thème)",
        "cap_codes": "Fréquence des codes",
        "cap_matrix": "Segments codés par code et {group}",
        "cap_heatmap": "Carte de chaleur des segments codés par code et {group}",
        "groups": {"participant": "participant", "role": "rôle"},
        "verdicts": {"supported": "soutenue", "contested": "contestée", "partly supported":
                     "partiellement soutenue", "not supported": "non soutenue"},
        "cap_hypotheses": "Soutien des hypothèses",
        "rules_intro": "Un segment soutient une hypothèse lorsqu'il porte tous les codes d'au moins un "
                       "élément de soutien, et la contredit lorsqu'il porte tous les codes d'au moins un "
                       "élément de contradiction ; un soutien inclus dans une contradiction du même "
                       "segment compte comme contradiction. Règles de verdict, appliquées dans cet ordre "
                       "(ps, ss : participants et segments en soutien ; pc : participants en "
                       "contradiction ; N = {n}, M = {m}, r = {r}) :",
        "rules": ["soutenue : ps ≥ N et ss ≥ M et pc < r × ps", "contestée : ps ≥ N et pc ≥ N",
                  "partiellement soutenue : ps > pc", "non soutenue : dans tous les autres cas"],
        "supported_by": "Soutenue par : ", "contradicted_by": "Contredite par : ", "rule": "Règle : ",
        "exemplars_intro": "Pour chaque code, les {n} segments les mieux notés, en variant les "
                           "participants.",
    },
    "en": {
        "table": "Table", "figure": "Figure", "method": "Method", "codebook": "Codebook",
        "frequencies": "Frequencies", "themes": "Themes", "codes": "Codes", "matrices": "Coding matrices",
        "by_participant": "Codes by participant", "by_role": "Codes by role", "hypotheses": "Hypotheses",
        "exemplars": "Exemplar quotes", "theme": "Theme", "code": "Code", "definition": "Definition",
        "segments": "Seg\u00adments", "participants": "Parti\u00adci\u00adpants",
        "documents": "Docu\u00adments", "total": "Total", "percent": "% of segments",
        "mean_score": "Mean score", "n_codes": "Codes",
        "hypothesis": "Hypo\u00adthesis", "statement": "Statement", "verdict": "Verdict",
        "seg_for": "Suppor\u00adting seg\u00adments", "part_for": "Suppor\u00adting parti\u00adci\u00adpants",
        "seg_against": "Contra\u00addict\u00ading seg\u00adments",
        "part_against": "Contra\u00addict\u00ading parti\u00adci\u00adpants",
        "for": "Supporting quotes", "against": "Counter-evidence quotes", "none": "(no quote)",
        "quote": ("“", "”"), "decimal": ".", "thousands": ",", "score": "score",
        "status": {"suggested": "suggested", "accepted": "accepted"},
        "subtitle": "Codebook “{name}”, version {version}", "coded_on": " — coded on {date}",
        "corpus": "The corpus has {documents} documents (interviews), {participants} participants, "
                  "{segments} segments and {words} words.",
        "book": "Codebook “{name}”, version {version}: {themes} themes, {codes} codes, "
                "{hypotheses} hypotheses.",
        "unit": "Coding unit: {unit}. Similarity context window: {window} neighbouring segment(s) of the "
                "same turn.",
        "units": {"sentence": "the sentence", "paragraph": "the paragraph", "turn": "the speaker turn"},
        "coding": "Deductive automatic coding: a code is suggested for a segment when its score reaches "
                  "the threshold ({threshold}{own}). The score combines rules (keywords and token "
                  "patterns, with negation detected){similarity}: score = 1 − (1 − rules) × "
                  "(1 − similarity). Accent-insensitive matching: {accents}. Linguistic analysis: "
                  "spaCy {pipeline}.",
        "similarity": " and the similarity to the code's nearest exemplar (backend: {backend}; cosine "
                      "calibrated from {low} → 0 to {high} → 1)",
        "own": "; own threshold: {codes}",
        "backends": {"vectors": "word vectors of the spaCy model", "tfidf": "TF-IDF on lemmas",
                     "sentence-transformers": "local sentence-transformers model"},
        "yes": "yes", "no": "no",
        "methods": "Of the {n} codings reported, {rule} rest on rules alone, {embedding} on similarity "
                   "alone and {hybrid} on both.",
        "run": "Coded on {date} with qualcode {version}.",
        "basis": "Basis: {basis}. Codings counted: {status}{score}.",
        "statuses": {"all": "all but those rejected by a human (suggested or accepted)",
                     "accepted": "only those accepted by a human",
                     "suggested": "only machine suggestions not yet reviewed"},
        "min_score": ", score ≥ {}",
        "plain_machine": "The codings reported are machine suggestions: none has been validated by a "
                         "human.",
        "plain_human": "The codings reported have all been validated by a human.",
        "plain_mixed": "The codings reported mix {accepted} human-validated codings and {others} "
                       "machine suggestions not yet validated.",
        "plain_empty": "No coding matches this filter.",
        "cap_codebook": "Codebook: themes, codes, definitions and frequencies",
        "cap_themes": "Theme frequencies (segments coded with any code of the theme)",
        "cap_codes": "Code frequencies",
        "cap_matrix": "Coded segments by code and {group}",
        "cap_heatmap": "Heatmap of coded segments by code and {group}",
        "groups": {"participant": "participant", "role": "role"},
        "verdicts": {"supported": "supported", "contested": "contested", "partly supported":
                     "partly supported", "not supported": "not supported"},
        "cap_hypotheses": "Support for the hypotheses",
        "rules_intro": "A segment supports a hypothesis when it carries every code of at least one "
                       "supporting item, and contradicts it when it carries every code of at least one "
                       "contradicting item; support contained in a contradiction on the same segment "
                       "counts as contradiction. Verdict rules, checked in this order (sp, ss: "
                       "supporting participants and segments; cp: contradicting participants; "
                       "N = {n}, M = {m}, r = {r}):",
        "rules": ["supported: sp ≥ N and ss ≥ M and cp < r × sp", "contested: sp ≥ N and cp ≥ N",
                  "partly supported: sp > cp", "not supported: otherwise"],
        "supported_by": "Supported by: ", "contradicted_by": "Contradicted by: ", "rule": "Rule: ",
        "exemplars_intro": "For each code, the {n} highest-scoring segments, varying the participants.",
    },
}
