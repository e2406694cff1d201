//! Display names for simulated agents: a mix of Chinese names (in pinyin, family name
//! first as on Chinese rosters, and some in Chinese characters, to exercise UTF-8 on every
//! path) and English names.

use super::rng::Rng;

const SURNAMES: &[&str] = &[
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo",
    "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song",
];
const GIVEN: &[&str] = &[
    "Na", "Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Yong", "Jie", "Tao", "Ming", "Xiuying", "Hui", "Qiang",
    "Ping", "Gang", "Hong", "Yu", "Chao", "Xin", "Hao", "Ting", "Yi", "Lihua", "Jianguo", "Haiyan", "Xiaoling",
    "Zhiqiang", "Mei",
];
const HANZI_SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙"];
const HANZI_GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "华",
    "建国", "海燕", "晓玲", "志强",
];
const FIRST: &[&str] = &[
    "Emma", "Olivia", "Amelia", "Sophie", "Grace", "Chloe", "Ella", "Lucy", "Hannah", "Mia", "Jack", "Oliver", "Harry",
    "George", "Noah", "Liam", "James", "Thomas", "Daniel", "Ethan", "Sarah", "Laura", "Michael", "David", "Rachel",
    "Ben", "Kate", "Sam", "Priya", "Aisha",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Walker", "Wright", "Thompson",
    "Evans", "Roberts", "Green", "Hall", "Wood", "Clarke", "Hughes", "Edwards", "Turner", "Murphy", "Kelly", "Patel",
    "Khan",
];

/// A display name drawn from `rng`.
pub(crate) fn name(rng: &mut Rng) -> String {
    let roll = rng.f64();
    if roll < 0.45 {
        format!("{} {}", rng.pick(SURNAMES), rng.pick(GIVEN))
    } else if roll < 0.60 {
        format!("{}{}", rng.pick(HANZI_SURNAMES), rng.pick(HANZI_GIVEN))
    } else {
        format!("{} {}", rng.pick(FIRST), rng.pick(LAST))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mix_scripts_and_need_no_escaping() {
        let mut rng = Rng::new(3, 3);
        let names: Vec<String> = (0..500).map(|_| name(&mut rng)).collect();
        assert!(names.iter().any(|n| !n.is_ascii()));
        assert!(names.iter().any(|n| n.starts_with("Li ") || n.starts_with("Wang ")));
        assert!(names.iter().any(|n| LAST.iter().any(|l| n.ends_with(l))));
        // The generator writes names into JSON without escaping.
        assert!(names.iter().all(|n| !n.contains(['"', '\\']) && !n.chars().any(char::is_control)));
    }
}
