package personas

import (
	"math/bits"
	"strconv"
	"strings"

	"github.com/recloop/recloop/internal/rng"
)

// A population member of a built-in archetype is a person of its own: it
// keeps the archetype's taste, traits and habits, but gets its own name, age,
// occupation and wording of its description. Who a member is comes from
// rng.PurposeIdentity draws, apart from every draw that shapes how it
// behaves, so the utility model (which never reads names or descriptions)
// plays a population exactly as it did when every member was the same
// person.

// people is what varies between the members of one built-in archetype.
// Sentences use the slots {name} (full name), {first}, {age} and
// {occupation}; none uses a pronoun, so that any name fits.
type people struct {
	// Ages is the inclusive range members' ages are drawn from.
	Ages [2]int
	// Occupations are noun phrases with their article ("a bus driver").
	Occupations []string
	// Habits say how the member watches; Tastes what the member likes;
	// Latent what the member does not know it would like. Each list holds
	// alternative wordings of the same archetype.
	Habits, Tastes, Latent []string
}

// openers introduce a member; each names it in full, so members with
// distinct names have distinct descriptions.
var openers = []string{
	"{name} is {age}, {occupation}.",
	"{name}, {age}, is {occupation}.",
	"At {age}, {name} is {occupation}.",
	"{name} is {occupation}, aged {age}.",
}

var firstNames = []string{
	"Aaliyah", "Abdul", "Ada", "Adrian", "Aiko", "Alejandro", "Amara", "Amir", "Ana", "Andrei",
	"Anika", "Arjun", "Astrid", "Ayesha", "Bao", "Beatriz", "Ben", "Bianca", "Bongani", "Camila",
	"Carlos", "Chen", "Chiara", "Chloe", "Dario", "Deepa", "Diego", "Dmitri", "Efua", "Elif",
	"Emeka", "Emma", "Esther", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hana", "Hassan",
	"Ines", "Ivan", "Jamal", "Jana", "Javier", "Jin", "Joana", "Jonas", "Kaito", "Kamala",
	"Karim", "Keanu", "Kofi", "Lars", "Layla", "Leila", "Leon", "Lina", "Luca", "Lucia",
	"Malik", "Maya", "Mei", "Mateo", "Nadia", "Naveen", "Nia", "Nikos", "Noa", "Olga",
	"Omar", "Oscar", "Paolo", "Pilar", "Quinn", "Rafael", "Rania", "Ravi", "Rosa", "Rui",
	"Sam", "Sana", "Santiago", "Sara", "Sean", "Sofia", "Sven", "Tariq", "Thandi", "Theo",
	"Tomasz", "Uma", "Valentina", "Viktor", "Wei", "Xavier", "Yara", "Yusuf", "Zanele", "Zoe",
}

var lastNames = []string{
	"Abe", "Adeyemi", "Ahmed", "Alvarez", "Andersen", "Baker", "Banerjee", "Becker", "Bianchi", "Brown",
	"Castro", "Chowdhury", "Costa", "Cruz", "Dlamini", "Dubois", "Eriksson", "Fernandes", "Fischer", "Fonseca",
	"Garcia", "Gomez", "Gupta", "Haddad", "Hansen", "Hernandez", "Hoang", "Horvat", "Ibrahim", "Ito",
	"Jensen", "Johnson", "Kaur", "Kim", "Kowalski", "Kumar", "Larsen", "Lee", "Lindqvist", "Lopez",
	"Mahlangu", "Martin", "Mensah", "Moreau", "Morales", "Murphy", "Nakamura", "Nguyen", "Novak", "Nowak",
	"Okafor", "Okoye", "Oliveira", "Osei", "Park", "Patel", "Perez", "Petrov", "Popescu", "Quispe",
	"Rahman", "Reyes", "Ricci", "Rossi", "Sato", "Schmidt", "Shah", "Silva", "Singh", "Smith",
	"Sokolov", "Suzuki", "Tanaka", "Taylor", "Teo", "Torres", "Tran", "Van Dijk", "Vargas", "Walker",
	"Wang", "Weber", "Williams", "Wong", "Yamamoto", "Yang", "Yilmaz", "Young", "Zhang", "Zhou",
	"Achebe", "Bergstrom", "Cohen", "Delgado", "Evans", "Farah", "Gallo", "Haas", "Iyer", "Jovanovic",
}

// archetypePeople holds the variation of each built-in archetype, by id.
// A library archetype missing here makes identical members (a test forbids
// it); personas from the scenario's own files always do.
var archetypePeople = map[string]people{
	"blockbuster-fan": {
		Ages:        [2]int{19, 40},
		Occupations: []string{"a warehouse supervisor", "a delivery driver", "a logistics planner", "a gym instructor", "a car mechanic", "a sales assistant", "a call-centre agent", "a plumber", "a bank clerk", "a student", "a barista", "an electrician", "a forklift operator", "a retail manager"},
		Habits: []string{
			"{first} watches two or three films a week, mostly on Friday and Saturday nights with friends.",
			"Weekends mean a film night with friends, and {first} usually picks whatever everyone is talking about.",
			"{first} goes for the biggest release of the week, often twice: once at the cinema, once at home.",
		},
		Tastes: []string{
			"{first} likes big, loud, well-known releases: superhero films, car chases, explosions and space battles, and trusts what is trending more than any critic.",
			"Superheroes, car chases, explosions and space battles are what {first} is after; a trending title beats a critic's pick every time.",
			"The bigger the spectacle the better for {first}: superhero sagas, chases, explosions, battles in space, preferably the film all of {first}'s friends have seen.",
		},
		Latent: []string{
			"{first} has never sat through an animated film as an adult, but would be surprised how much a clever anime or a twisty time-travel story would land.",
			"Animation seems childish to {first}, yet a sharp anime or a time-travel puzzle would be a pleasant surprise.",
		},
	},
	"channel-surfer": {
		Ages:        [2]int{30, 65},
		Occupations: []string{"a shift worker at a bottling plant", "a taxi driver", "a security guard", "a hairdresser", "an office administrator", "a school caretaker", "a postal worker", "a bus driver", "a dental receptionist", "a semi-retired builder", "a shop owner", "a cook"},
		Habits: []string{
			"{first} puts something on in the background while cooking or scrolling a phone, glances at the first few suggestions and gives up quickly if nothing catches the eye.",
			"The television is mostly background noise for {first}, who clicks the first thing that looks fun and moves on fast when it does not.",
			"{first} rarely looks past the top of a list: something familiar gets a click, anything else a shrug and a switch-off.",
		},
		Tastes: []string{
			"Light comedies and straightforward action are {first}'s default.",
			"{first} sticks to easy comedies, slapstick and plain action, nothing that asks for attention.",
			"Feel-good comedy and no-nonsense action suit {first} best.",
		},
		Latent: []string{
			"{first} would happily watch a road-trip adventure if one were put in front of {first}.",
			"A road-trip adventure would keep {first} watching, though {first} would never go looking for one.",
		},
	},
	"cinephile": {
		Ages:        [2]int{28, 70},
		Occupations: []string{"a literature teacher", "a translator", "an architect", "a university lecturer", "a bookshop owner", "a museum curator", "a theatre director", "a journalist", "a psychotherapist", "an editor at a publishing house", "a retired diplomat", "a violinist"},
		Habits: []string{
			"{first} keeps a notebook of every film seen and walks away from anything formulaic.",
			"{first} watches carefully, takes notes, and has no patience for anything that feels made by formula.",
			"For {first} a film is an evening's commitment, chosen with care and judged severely.",
		},
		Tastes: []string{
			"{first} loves slow-burning dramas, literary adaptations, noir and intricate mysteries; popularity means little, and an obscure title that sounds intelligent is worth a try.",
			"Slow-burn drama, adaptations of good books, noir and layered mysteries are {first}'s territory; what is popular hardly matters to {first}.",
			"Award-winning dramas, noir and intricate mysteries draw {first} in, and the more obscure the better if the writing is good.",
		},
		Latent: []string{
			"{first} rarely watches documentaries, believing them dry, but biographies and history films would move {first} more than expected.",
			"Documentaries strike {first} as dull, yet a fine biography or a history film would be a revelation.",
		},
	},
	"documentary-learner": {
		Ages:        [2]int{45, 78},
		Occupations: []string{"a retired engineer", "a retired schoolteacher", "a geologist", "a librarian", "a pharmacist", "a retired pilot", "an accountant", "a civil servant", "a laboratory technician", "a science teacher", "a retired nurse", "a surveyor"},
		Habits: []string{
			"{first} watches to learn, is happy to try unfamiliar subjects, but has little patience for sensationalism and rates harshly.",
			"Every evening's viewing is a lesson for {first}, who is curious about any subject but quick to mark down anything sensational.",
			"{first} picks films the way others pick books from a library: to learn something, and harshly judged if they do not deliver.",
		},
		Tastes: []string{
			"Nature films, science, biographies and history are what {first} looks for.",
			"{first} goes for nature, science, history and the lives of remarkable people.",
			"Documentaries about nature and science, and serious history and biography, fill {first}'s list.",
		},
		Latent: []string{
			"{first} thinks fiction is a waste of time, yet a courtroom drama or a crime story based on true events would hold {first} just as well as a documentary.",
			"Fiction seems pointless to {first}, but a true-crime story or a courtroom drama would be as gripping as any documentary.",
		},
	},
	"family-parent": {
		Ages:        [2]int{29, 48},
		Occupations: []string{"a nurse", "a primary-school teacher", "an accountant", "a software tester", "a stay-at-home parent", "a physiotherapist", "a bus driver", "a shop manager", "a police officer", "a graphic designer", "a dentist", "a carpenter"},
		Habits: []string{
			"{first} has two children aged six and nine and most evenings picks something the whole family can watch.",
			"With three children under twelve, {first} chooses the evening film for everyone at once.",
			"{first}'s film nights are family nights: a five-year-old and an eight-year-old decide as much as {first} does.",
			"{first} has a seven-year-old and picks the weekend films the two of them watch together.",
		},
		Tastes: []string{
			"Animated films, gentle comedies, talking animals and holiday specials are the staples; {first} sticks to titles other parents recommend and avoids anything scary.",
			"{first} looks for animation, talking animals, gentle comedy and holiday specials, trusts other parents' tips and steers clear of anything frightening.",
			"Feel-good family films, animation and anything with talking animals win; scary films are out, and other parents' recommendations count for a lot with {first}.",
		},
		Latent: []string{
			"{first} has not thought of musicals or treasure-hunt adventures as family viewing, though the kids would love to sing along or follow a map.",
			"Musicals and treasure hunts have never crossed {first}'s mind, yet the children would adore the songs and the maps.",
		},
	},
	"horror-buff": {
		Ages:        [2]int{18, 38},
		Occupations: []string{"a night-shift nurse", "a tattoo artist", "a games tester", "a bartender", "a paramedic", "a record-shop clerk", "a horror-podcast host", "a sound engineer", "a hospital porter", "a student", "a special-effects make-up artist", "a night-bus driver"},
		Habits: []string{
			"{first} unwinds with horror, has seen the classics and is bored by cheap jump scares, so is fairly picky.",
			"Horror is how {first} relaxes; having seen all the classics, {first} is hard to impress and tired of cheap jump scares.",
			"{first} watches horror several nights a week and is choosy: a lazy jump scare is an instant switch-off.",
		},
		Tastes: []string{
			"Zombies, slashers, haunted houses and anything supernatural are {first}'s favourites.",
			"{first} wants zombies, slashers, haunted houses and the supernatural, with a good thriller now and then.",
			"Haunted houses, slashers, zombies and supernatural dread: the darker the better for {first}.",
		},
		Latent: []string{
			"{first} ignores mysteries and comedies as too tame, but a clever whodunit or pitch-black humour would suit {first}'s taste for the dark side.",
			"Comedy and mystery seem tame to {first}, yet dark humour or a sharp whodunit would hit the spot.",
		},
	},
	"niche-explorer": {
		Ages:        [2]int{22, 55},
		Occupations: []string{"a film blogger", "a record-label owner", "an archivist", "an illustrator", "a PhD student in film studies", "a second-hand bookseller", "a programmer at a small arthouse cinema", "a freelance critic", "a zine editor", "a ceramicist", "a sound artist", "a history teacher"},
		Habits: []string{
			"{first} deliberately avoids whatever is trending and gets bored when a service keeps showing the same kind of film.",
			"Anything popular puts {first} off; a service that repeats itself loses {first} fast.",
			"{first} digs for what nobody else is watching and tires quickly of sameness.",
		},
		Tastes: []string{
			"{first} digs for westerns, war films, stop-motion oddities and sharp satire.",
			"Westerns, outlaws on the frontier, war films, stop-motion and satire are {first}'s finds.",
			"{first} collects westerns, war films, odd stop-motion animation and biting satire.",
		},
		Latent: []string{
			"Fantasy strikes {first} as too commercial, but a film built on old myths or a dark fairy tale would win {first} over.",
			"{first} dismisses fantasy as mainstream, yet mythology or a dark fairy tale would be irresistible.",
		},
	},
	"romantic": {
		Ages:        [2]int{22, 55},
		Occupations: []string{"a pharmacist", "a wedding planner", "a primary-school teacher", "an HR manager", "a florist", "a dental hygienist", "a marketing coordinator", "a receptionist", "a speech therapist", "a bakery owner", "a travel agent", "a social worker"},
		Habits: []string{
			"{first} watches to relax after work and usually follows what friends are talking about.",
			"Evenings in front of a love story are how {first} unwinds, often picking what friends recommend.",
			"{first} likes a film after a long day, and the group chat usually decides which one.",
		},
		Tastes: []string{
			"Romantic comedies and period love stories are {first}'s favourites: weddings, second chances, friendships that turn into more, and an ending that leaves a smile.",
			"{first} loves weddings, second chances and period romances, as long as the ending is happy.",
			"Feel-good romance, from period pieces to modern rom-coms with a wedding, is {first}'s reliable choice.",
		},
		Latent: []string{
			"{first} assumes musicals are not worth the time, but a love story told through song and dance would be a delight.",
			"Musicals seem a step too far for {first}, yet romance told in song and dance would be a joy.",
		},
	},
	"scifi-geek": {
		Ages:        [2]int{20, 50},
		Occupations: []string{"a software developer", "a physics student", "a data analyst", "a video-game designer", "an IT support technician", "a robotics engineer", "a comic-book shop owner", "a systems administrator", "a 3D artist", "an astronomy teacher", "a hardware engineer", "a technical writer"},
		Habits: []string{
			"{first} has seen every space opera twice, watches almost every night and is quick to spot a lazy plot.",
			"Almost every night is a film night for {first}, who knows the genre inside out and has no patience for lazy plotting.",
			"{first} watches nearly daily and can name the plot holes of most science-fiction films ever made.",
		},
		Tastes: []string{
			"Robots, cyberpunk cities, dystopias, time loops and dragon-filled fantasy worlds are what {first} wants.",
			"{first} is after space, robots, cyberpunk and dystopias, with some fantasy on the side.",
			"Space operas, robots, dystopian futures and time-travel twists: {first} can never get enough.",
		},
		Latent: []string{
			"{first} has never given anime a serious chance and skips science documentaries, yet both feed exactly the curiosity that draws {first} to science fiction.",
			"Anime and science documentaries have passed {first} by, though both would feed the same curiosity science fiction does.",
		},
	},
	"thrill-seeker": {
		Ages:        [2]int{21, 50},
		Occupations: []string{"a paramedic", "a firefighter", "a stockbroker", "a police dispatcher", "a courier", "a personal trainer", "a lawyer", "a journalist", "an air-traffic controller", "a chef", "a sales representative", "a rock-climbing instructor"},
		Habits: []string{
			"{first} watches several thrillers a week and has fairly broad taste within the genre.",
			"{first} wants a raised pulse from every film and watches thrillers most nights.",
			"Tension is what {first} watches for, several times a week, and any thriller will do if it is tight.",
		},
		Tastes: []string{
			"Heists, spies, conspiracies and endings {first} did not see coming are the draw.",
			"{first} loves heists, spy stories, conspiracies and a good twist ending.",
			"A clever heist, a spy on the run or a conspiracy with a twist: that is {first}'s kind of film.",
		},
		Latent: []string{
			"{first} skips war films, expecting long speeches, but survival stories and resistance fighters behind enemy lines would give exactly the tension {first} craves.",
			"War films seem slow to {first}, yet a survival story or resistance fighters behind enemy lines would be just as gripping.",
		},
	},
}

// identity gives member number n (from 1) of a population with the given id
// prefix its own person, drawn from the archetype's pools. Names are a
// seeded permutation of first × last names keyed by the prefix, so the
// members of one population have distinct names (and, since every opener
// names the member, distinct descriptions); past the pool's size a middle
// initial or a number keeps them distinct. It leaves m alone when the
// archetype has no pools.
func identity(m *Persona, archetype, prefix string, n int, seed uint64) {
	pool, ok := archetypePeople[archetype]
	if !ok || !m.builtin {
		return
	}
	names := uint64(len(firstNames) * len(lastNames))
	k := uint64(n - 1)
	wrap := k / names
	x := permute(rng.Key(seed, rng.PurposeIdentity, rng.StringKey("names"), rng.StringKey(prefix)), k%names, names)
	first, last := firstNames[x%uint64(len(firstNames))], lastNames[x/uint64(len(firstNames))]
	name := first + " " + last
	switch {
	case wrap == 0:
	case wrap <= 26:
		name = first + " " + string(rune('A'+wrap-1)) + ". " + last
	default:
		name += " " + strconv.FormatUint(wrap, 10)
	}
	r := rng.New(rng.Key(seed, rng.PurposeIdentity, rng.StringKey(m.ID)))
	age := pool.Ages[0] + r.IntN(pool.Ages[1]-pool.Ages[0]+1)
	occupation := pool.Occupations[r.IntN(len(pool.Occupations))]
	sentences := [...]string{
		openers[r.IntN(len(openers))],
		pool.Habits[r.IntN(len(pool.Habits))],
		pool.Tastes[r.IntN(len(pool.Tastes))],
		pool.Latent[r.IntN(len(pool.Latent))],
	}
	var b strings.Builder
	b.Grow(400)
	for i, s := range sentences {
		if i > 0 {
			b.WriteByte(' ')
		}
		for {
			open := strings.IndexByte(s, '{')
			if open < 0 {
				break
			}
			end := open + strings.IndexByte(s[open:], '}')
			b.WriteString(s[:open])
			switch s[open+1 : end] {
			case "name":
				b.WriteString(name)
			case "first":
				b.WriteString(first)
			case "age":
				b.WriteString(strconv.Itoa(age))
			case "occupation":
				b.WriteString(occupation)
			default:
				panic("personas: unknown slot " + s[open:end+1])
			}
			s = s[end+1:]
		}
		b.WriteString(s)
	}
	m.Name = name
	m.Description = b.String()
}

// permute maps x in [0, n) to [0, n) bijectively, as the key chooses: a
// four-round Feistel network on the smallest even number of bits that holds
// n, walked until it lands inside [0, n).
func permute(key, x, n uint64) uint64 {
	if n < 2 {
		return 0
	}
	half := uint((bits.Len64(n-1) + 1) / 2)
	mask := uint64(1)<<half - 1
	for {
		l, r := x>>half, x&mask
		for round := range uint64(4) {
			l, r = r, l^(rng.Key(key, round, r)&mask)
		}
		x = l<<half | r
		if x < n {
			return x
		}
	}
}
