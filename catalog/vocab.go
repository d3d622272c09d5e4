package catalog

// SyntheticCategories is the category vocabulary of the synthetic catalog.
// It follows MovieLens genre names (normalised), so the built-in persona
// library works on both.
var SyntheticCategories = []string{
	"action", "adventure", "animation", "comedy", "crime", "documentary",
	"drama", "family", "fantasy", "horror", "musical", "mystery", "romance",
	"sci-fi", "thriller", "war", "western",
}

// SyntheticTags maps each category to the tags its items usually carry. An
// item draws most tags from its categories' lists and a few from anywhere,
// so tags correlate with categories as they do in real catalogs.
var SyntheticTags = map[string][]string{
	"action":      {"explosions", "martial-arts", "car-chase", "superhero", "heist", "spy"},
	"adventure":   {"quest", "treasure", "road-trip", "survival", "jungle", "pirates"},
	"animation":   {"hand-drawn", "stop-motion", "anime", "talking-animals", "superhero", "feel-good"},
	"comedy":      {"satire", "slapstick", "feel-good", "parody", "dark-humor", "road-trip"},
	"crime":       {"heist", "detective", "mafia", "courtroom", "noir", "true-story"},
	"documentary": {"nature", "true-story", "biography", "history", "science", "music-biopic"},
	"drama":       {"coming-of-age", "family-saga", "based-on-book", "slow-burn", "true-story", "award-winner"},
	"family":      {"talking-animals", "feel-good", "coming-of-age", "holiday", "magic", "friendship"},
	"fantasy":     {"magic", "dragons", "quest", "fairy-tale", "mythology", "based-on-book"},
	"horror":      {"zombies", "vampires", "haunted-house", "slasher", "supernatural", "dark-humor"},
	"musical":     {"dance", "broadway", "music-biopic", "feel-good", "romance-songs", "holiday"},
	"mystery":     {"detective", "whodunit", "twist-ending", "noir", "supernatural", "slow-burn"},
	"romance":     {"romance-songs", "wedding", "second-chance", "period-piece", "feel-good", "friendship"},
	"sci-fi":      {"space", "time-travel", "robots", "dystopia", "aliens", "cyberpunk"},
	"thriller":    {"twist-ending", "spy", "conspiracy", "serial-killer", "survival", "psychological"},
	"war":         {"history", "true-story", "period-piece", "survival", "biography", "resistance"},
	"western":     {"frontier", "outlaws", "revenge", "period-piece", "survival", "treasure"},
}
