"""The 12 cards of the real listing page /news/page/6/?country=syria, as a reader sees them.

Copied from the page text (strings exact, including no-break spaces and the site's own
ellipses). The demo site renders them as page 6 of `country=syria` in both layouts, and the
extractor tests check that every string comes back unchanged."""

SEED_PAGE = 6
SEED_FILTER = "country=syria"

# (caption, label, title, summary, date), in page order.
SEED_CARDS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "",
        "Press Release",
        (
            "Syria: Expert analysis shows US-led coalition use of white phosphorus may amount"
            " to war crime"
        ),
        (
            "The US-led coalition\u2019s use of white phosphorus munitions on the outskirts of al-"
            "Raqqa, Syria is unlawful and may amount to a war crime, Amnesty International ca"
            "n confirm after verifying five videos of the incident."
        ),
        "June 16, 2017",
    ),
    (
        "No Ban No Wall protest at Grand Central Terminal",
        "Press Release",
        "Discriminatory Muslim Ban Again Defeated in Court",
        (
            "Following a ruling by the Fourth Circuit Court of Appeals blocking President Tru"
            "mp\u2019s revised Muslim ban, Margaret Huang, executive director Amnesty Internationa"
            "l USA had the following reaction:"
        ),
        "May 25, 2017",
    ),
    (
        "",
        "Press Release",
        "Syria: UN Security Council must take decisive action after Idleb chemical attack",
        (
            "Evidence gathered is suggesting a nerve agent was used in an air-launched chemic"
            "al attack which killed more than 70 and injured hundreds of civilians in Khan Sh"
            "eikhoun in Syria\u2019s northern province of Idleb, Amnesty International revealed as"
            " the UN Security Council meets for an emergency meeting in New York this morning"
            "."
        ),
        "April 5, 2017",
    ),
    (
        "",
        "Press Release",
        "Amnesty International Marks Sixth Anniversary of Syrian War",
        (
            "As war crimes and crimes against humanity continue to go unpunished in Syria, an"
            " Amnesty International campaign marking the sixth anniversary of the crisis call"
            "s on world leaders to take immediate action to deliver justice, truth and repara"
            "tions to the millions of victims of the conflict."
        ),
        "March 14, 2017",
    ),
    (
        "",
        "Press Release",
        "President Bashar al-Assad\u2019s response to Amnesty International report on Saydnaya",
        (
            "President Bashar al-Assad\u2019s interview with Yahoo News recently dismissed the fin"
            "dings of Amnesty International\u2019s recent report on mass hangings and exterminatio"
            "n at Saydnaya military prison in Syria. The report found that between 5,000 and "
            "13,000 people were secretly executed at the prison, with prisoners being rounded"
            " up in groups as large as 50, given sham \u201ctrials\u201d that last under a minute, blin"
            "dfolded, and hanged. The horrific treatment of prisoners in Syria is part of the"
            " reason so many have fled the country in the largest refugee crisis in generatio"
            "ns."
        ),
        "February 10, 2017",
    ),
    (
        "",
        "Sheet of paper Report",
        "Human slaughterhouse: Mass hangings and extermination at Saydnaya prison, Syria",
        (
            "A chilling new report by Amnesty International exposes the Syrian government\u2019s c"
            "alculated campaign of extrajudicial executions by mass hangings at Saydnaya Pris"
            "on. Between 2011 and 2015, every week and often twice a week, groups of up to 50"
            " people were taken out of their prison cells and hanged to death. In five years,"
            " as many as 13,000 people, most of them civilians believed to be opposed to the "
            "government, were hanged in secret at Saydnaya."
        ),
        "February 3, 2017",
    ),
    (
        "",
        "Press Release",
        "UN resolution paves way for accountability on Syria war crimes",
        (
            "In response to the United Nations General Assembly resolution establishing an in"
            "dependent international mechanism to ensure accountability for war crimes and cr"
            "imes against humanity committed in Syria since March 2011, Anna Neistat, Amnesty"
            " International\u2019s Senior Director of Research said: \u201cWith this resolution, the Ge"
            "neral Assembly helps overcome the Security Council's deadlock on accountability "
            "and is the first step toward justice for thousands of victims. \u201cThe situation in"
            " Syria continued to be one of the most heart-breaking tragedies of our time. It "
            "is also a clear example of the failure of the broken international system that w"
            "as established \u2013 with the\u2026"
        ),
        "December 22, 2016",
    ),
    (
        "",
        "Press Release",
        "UN Security Council Aleppo resolution long overdue",
        (
            "The protracted politicking and negotiations have finally resulted in a Security "
            "Council resolution allowing UN monitors to be sent to Aleppo. The resolution fol"
            "lows a weekend of intense negotiation under the threat of a third Russian veto i"
            "n three months. \u201cThe world is watching how the UN responds to the plight of Alep"
            "po. This important measure has come far too late, with hundreds of thousands of "
            "people demanding the Syrian and Russian governments allow a safe evacuation and "
            "independent monitoring. But thousands are still trapped in besieged areas of Eas"
            "tern Aleppo, waiting for hours in sub-zero temperatures to be evacuated,\u201d\u2026"
        ),
        "December 19, 2016",
    ),
    (
        "",
        "Press Release",
        "Syria: Allow UN monitors into Aleppo as fleeing civilians face fresh shelling",
        (
            "As fighting resumed in the stricken Syrian city of Aleppo today, Amnesty Interna"
            "tional called for the deployment of monitors from the United Nations to help pro"
            "tect thousands of fleeing civilians from potential revenge attacks and other hum"
            "an rights violations. Heavy shelling has been reported in eastern Aleppo despite"
            " a ceasefire agreed on Tuesday to allow the evacuation of tens of thousands of c"
            "ivilians and thousands of rebel fighters. \u201cIt is shameful yet unsurprising that,"
            " despite the fact the Syrian government agreed last night to the evacuation, civ"
            "ilians fleeing their homes have come under fire today. We fear that without prop"
            "er\u2026"
        ),
        "December 14, 2016",
    ),
    (
        "",
        "Press Release",
        "Syria: Reports of execution-style killings in Aleppo point to war crimes",
        (
            "Shocking reports from the UN that scores of civilians have been extrajudicially "
            "executed by advancing Syrian government forces in eastern Aleppo point to appare"
            "nt war crimes, said Amnesty International. The organization is making an urgent "
            "plea for all parties to the conflict to protect the civilian population."
        ),
        "December 13, 2016",
    ),
    (
        "",
        "Press Release",
        "UN: Inaction on Syria is not an option",
        (
            "Ahead of an urgent declaration being issued today by more than 200 civil society"
            " groups from around the world, urging the UN General Assembly to take action reg"
            "arding the war in Syria, Sherine Tadros, Head of Amnesty International\u2019s UN Offi"
            "ce, said: \xa0 \u201cIt is becoming clearer every day that the UN Security Council has f"
            "ailed the Syrian people. There have been almost half a million deaths, and each "
            "one is a stark rebuke of the Security Council, the supposed guardian of internat"
            "ional peace and security, which has allowed a political deadlock to stand in the"
            " way of saving lives. \xa0\u2026"
        ),
        "December 1, 2016",
    ),
    (
        "",
        "Press Release",
        "Syria: Civilians in eastern Aleppo city fear revenge attacks",
        (
            "Syrian government forces who have captured parts of eastern Aleppo city in recen"
            "t days must ensure that civilians living in these areas are allowed to move free"
            "ly and are protected from revenge attacks including arbitrary detention, torture"
            ", enforced disappearance or harassment, said Amnesty International today. \xa0 Yest"
            "erday Syrian government forces took control of two neighborhoods in eastern Alep"
            "po, Jabal Badro and Maskaen Hanano, where at least 100 families are currently li"
            "ving. Many who remain in eastern Aleppo city told Amnesty International that the"
            "y fear acts of revenge by government forces. \xa0 \u201cSyrian government forces have re"
            "peatedly launched unlawful attacks on\u2026"
        ),
        "November 28, 2016",
    ),
)
