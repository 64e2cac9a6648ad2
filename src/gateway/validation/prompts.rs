//! Every prompt the validation tools send, in one place. Each asks for a first line
//! `VERDICT: …` so the report can show agreement and disagreement without guessing.

/// The verdict line every validation prompt asks for.
pub const VERDICT_RULE: &str = "Start your reply with exactly one line `VERDICT: AGREE`, `VERDICT: DISAGREE` or `VERDICT: UNSURE`, then explain briefly and concretely.";

pub fn validate(question: &str, context: Option<&str>) -> String {
    format!(
        "Independently answer and validate the following. Say whether the premise and any proposed answer are correct; point out errors, missing cases and risks.\n{VERDICT_RULE} (AGREE = the premise/answer holds.)\n\n{}Question:\n{question}",
        context
            .map(|c| format!("Context:\n{c}\n\n"))
            .unwrap_or_default()
    )
}

pub fn second_opinion(question: &str, answer: &str) -> String {
    format!(
        "Review this answer as an expert second opinion. Is it correct and complete? What is wrong or missing?\n{VERDICT_RULE} (AGREE = the answer is correct.)\n\nQuestion:\n{question}\n\nAnswer to review:\n{answer}"
    )
}

pub fn compare(question: &str, answers: &[(String, String)]) -> String {
    let listed: String = answers
        .iter()
        .map(|(source, answer)| format!("--- Answer from {source} ---\n{answer}\n"))
        .collect();
    format!(
        "Compare these answers to the same question. Which is most correct, where do they disagree, and what would you answer?\n{VERDICT_RULE} (AGREE = the answers agree on the substance.)\n\nQuestion:\n{question}\n\n{listed}"
    )
}

pub fn red_team(content: &str, focus: Option<&str>) -> String {
    format!(
        "Red-team the following plan, answer or document. List the most serious risks, failure modes, security problems and wrong assumptions first, each with how it would fail.\n{VERDICT_RULE} (AGREE = it is sound enough to proceed.)\n\n{}Material:\n{content}",
        focus
            .map(|f| format!("Focus on: {f}\n\n"))
            .unwrap_or_default()
    )
}

pub fn consensus(claim: &str) -> String {
    format!(
        "Do you agree with this claim? Judge it on the merits, independently.\n{VERDICT_RULE}\n\nClaim:\n{claim}"
    )
}

pub fn synthesize(question: &str, answers: &[(String, String)]) -> String {
    let listed: String = answers
        .iter()
        .map(|(p, a)| format!("--- {p} ---\n{a}\n"))
        .collect();
    format!(
        "You are the judge. Several models answered the question below. Synthesize: where they agree, where they disagree and who is right, and the best final answer. Do not drop a dissenting view without saying why.\n{VERDICT_RULE} (AGREE = the models substantially agree.)\n\nQuestion:\n{question}\n\n{listed}"
    )
}

/// The verdict a reply declares, if it followed [`VERDICT_RULE`].
pub fn verdict(reply: &str) -> Option<&'static str> {
    let first = reply.lines().map(str::trim).find(|l| !l.is_empty())?;
    let v = first
        .trim_start_matches(['*', '#', '`', ' '])
        .strip_prefix("VERDICT:")?
        .trim()
        .trim_end_matches(['*', '`', '.'])
        .to_ascii_uppercase();
    match v.as_str() {
        "AGREE" => Some("agree"),
        "DISAGREE" => Some("disagree"),
        "UNSURE" => Some("unsure"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict("VERDICT: AGREE\nbecause"), Some("agree"));
        assert_eq!(verdict("\n**VERDICT: disagree**\nno"), Some("disagree"));
        assert_eq!(verdict("I think so"), None);
        assert!(validate("q", None).contains(VERDICT_RULE));
    }
}
