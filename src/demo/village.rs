//! A village shaped like 大华山村 (shared/DOMAIN.md): one chief, 23 grid heads, 76 grid
//! members, 1,304 households, 2,676 residents, 10 sampling points; some residents away,
//! bedridden or migrants. Deterministic for a seed, so a drill can be replayed.

use super::Rng;
use crate::action::{ActionKind, NewAction};
use crate::roster::{
    AreaNode, Flags, Household, IdNumber, Phone, Resident, Role, RosterParts, SamplingPoint, Staff, StaffId,
};
use std::collections::HashSet;

pub const HOUSEHOLDS: usize = 1_304;
pub const RESIDENTS: usize = 2_676;
pub const GRID_HEADS: usize = 23;
pub const GRID_MEMBERS: usize = 76;
pub const POINTS: usize = 10;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "郑",
];
const GIVEN: &[&str] = &[
    "建国", "秀英", "桂兰", "玉兰", "淑珍", "德山", "志强", "海燕", "丽娟", "春生", "国华", "振华", "红梅", "文杰",
    "子涵", "雨萱", "浩然", "欣怡", "宇轩", "梓萱", "国庆", "秀兰", "凤英", "永刚", "立新", "金凤", "卫东", "晓明",
    "俊杰", "思雨",
];
const POINT_PLACES: &[&str] = &[
    "村委会广场",
    "大华山小学操场",
    "文化活动中心",
    "东街停车场",
    "西沟口",
    "卫生室门前",
    "南坡场院",
    "果品市场",
    "北山脚",
    "老供销社",
];
const ROADS: &[&str] = &["东街", "西街", "南坡", "北沟", "山前路", "果园路", "中心街"];

/// A generated village: its roster and the testing action to open over it.
pub struct Village {
    pub roster: RosterParts,
    pub action: NewAction,
}

pub(crate) fn name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

fn phone(rng: &mut Rng) -> Phone {
    let prefix = rng.pick(&["138", "139", "135", "150", "158", "186", "187", "133"]);
    Phone::parse(&format!("{prefix}{:08}", rng.below(100_000_000))).expect("generated phones are valid")
}

pub fn generate(seed: u64) -> Village {
    let mut rng = Rng::new(seed);
    let mut staff: Vec<Staff> = Vec::new();
    let mut add_staff = |rng: &mut Rng, role: Role, nodes: Vec<i64>, point_id: Option<i64>| -> StaffId {
        let id = staff.len() as i64 + 1;
        staff.push(Staff { id, name: name(rng), phone: Some(phone(rng)), role, nodes, point_id, retired: false });
        id
    };

    let mut nodes = Vec::new();
    let chief = add_staff(&mut rng, Role::Chief, vec![1], None);
    nodes.push(AreaNode {
        id: 1, parent: None, level: "村".into(), name: "大华山村".into(), staff_id: Some(chief)
    });
    let mut grids = Vec::new();
    for h in 0..GRID_HEADS {
        let id = nodes.len() as i64 + 1;
        let head = add_staff(&mut rng, Role::GridHead, vec![id], None);
        nodes.push(AreaNode {
            id,
            parent: Some(1),
            level: "分网格".into(),
            name: format!("第{}分网格", h + 1),
            staff_id: Some(head),
        });
        // 76 grids over 23 heads: 3 each, and 4 for the first seven.
        let count = if h < GRID_MEMBERS - 3 * GRID_HEADS { 4 } else { 3 };
        for _ in 0..count {
            let gid = nodes.len() as i64 + 1;
            let member = add_staff(&mut rng, Role::GridMember, vec![gid], None);
            nodes.push(AreaNode {
                id: gid,
                parent: Some(id),
                level: "网格".into(),
                name: format!("第{}网格", grids.len() + 1),
                staff_id: Some(member),
            });
            grids.push(gid);
        }
    }

    let mut points = Vec::new();
    for (i, place) in POINT_PLACES.iter().enumerate().take(POINTS) {
        let served: Vec<i64> = grids.iter().copied().skip(i).step_by(POINTS).collect();
        points.push(SamplingPoint {
            id: i as i64 + 1,
            name: format!("{}号采集点", i + 1),
            place: (*place).into(),
            nodes: served,
            retired: false,
        });
    }
    for p in &points {
        add_staff(&mut rng, Role::Operator, vec![], Some(p.id));
    }
    add_staff(&mut rng, Role::Medic, vec![1], Some(1));
    add_staff(&mut rng, Role::Viewer, vec![1], None);
    add_staff(&mut rng, Role::Admin, vec![1], None);

    // Households spread evenly over the grids (17 or 18 each).
    let households: Vec<Household> = (0..HOUSEHOLDS)
        .map(|i| Household {
            id: i as i64 + 1,
            number: format!("DHS{:04}", i + 1),
            address: format!("大华山村{}{}号", ROADS[i % ROADS.len()], i / ROADS.len() + 1),
            node_id: grids[i * grids.len() / HOUSEHOLDS],
        })
        .collect();

    // Every household has one resident, the remaining ones are spread at random.
    let mut sizes = vec![1usize; HOUSEHOLDS];
    let mut extra = RESIDENTS - HOUSEHOLDS;
    while extra > 0 {
        let h = rng.below(HOUSEHOLDS as u64) as usize;
        if sizes[h] < 6 {
            sizes[h] += 1;
            extra -= 1;
        }
    }
    let mut residents = Vec::with_capacity(RESIDENTS);
    let mut used = HashSet::new();
    for (h, size) in sizes.iter().enumerate() {
        let surname = rng.pick(SURNAMES);
        for k in 0..*size {
            let birth_year = if k == 0 { 1940 + rng.below(45) as i32 } else { 1935 + rng.below(88) as i32 };
            let id_number = loop {
                let body =
                    format!("110117{birth_year}{:02}{:02}{:03}", 1 + rng.below(12), 1 + rng.below(28), rng.below(1000));
                let id = IdNumber::from_body(&body).expect("17 generated digits");
                if used.insert(id.expose().to_owned()) {
                    break id;
                }
            };
            let roll = rng.below(1000);
            let flags = Flags {
                away: roll < 45,
                bedridden: (45..62).contains(&roll) || (birth_year < 1945 && (45..200).contains(&roll)),
                migrant: (62..85).contains(&roll),
            };
            let note = match (flags.away, flags.bedridden) {
                (true, _) => "外出务工",
                (_, true) => "长期卧床",
                _ => "",
            };
            residents.push(Resident {
                id: residents.len() as i64 + 1,
                household_id: h as i64 + 1,
                name: format!("{surname}{}", rng.pick(GIVEN)),
                id_number,
                phone: (birth_year < 2008 && rng.below(10) < 8).then(|| phone(&mut rng)),
                birth_year,
                flags,
                note: note.into(),
            });
        }
    }

    // The county lab that enters the pooled tubes' results; made last, so the village
    // above is the same as before there was one.
    add_staff(&mut rng, Role::Lab, vec![1], None);

    let action = NewAction {
        kind: ActionKind::Testing,
        name: "大华山村全员核酸检测 第1轮".into(),
        scope: vec![1],
        points: points.iter().map(|p| p.id).collect(),
        planned_open: None,
        planned_close: None,
    };
    Village { roster: RosterParts { nodes, households, residents, staff, points, removed: Default::default() }, action }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Roster;

    #[test]
    fn the_demo_village_has_the_figures_of_the_report() {
        let v = generate(7);
        let roster = Roster::new(v.roster).expect("a valid roster");
        assert_eq!(roster.households().len(), 1_304);
        assert_eq!(roster.residents().len(), 2_676);
        let count = |role| roster.staff().iter().filter(|s| s.role == role).count();
        assert_eq!((count(Role::Chief), count(Role::GridHead), count(Role::GridMember)), (1, 23, 76));
        assert_eq!(roster.points().len(), 10);
        assert!(roster.residents().iter().any(|r| r.flags.bedridden));
        assert!(roster.residents().iter().any(|r| r.flags.away));
    }

    #[test]
    fn the_same_seed_makes_the_same_village() {
        let (a, b) = (generate(42).roster, generate(42).roster);
        assert_eq!(a.residents, b.residents);
        assert_ne!(a.residents, generate(43).roster.residents);
    }
}
